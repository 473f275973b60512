"""The behavioural metric comparison (docs/protocols.md section 6c): the box task and its
nets behave as the protocol states, the statistics are the textbook ones, and the
scorecard rows it feeds can go against PPP."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from padpos.names import RELIABILITY_METRICS
from padpos.stages.claims import scorecard as sc
from padpos.stages.claims.definitions import CLAIMS
from padpos.stages.reliability import boxes, boxnets
from padpos.stages.reliability import comparison as cmp
from padpos.stages.reliability.behaviour import behaviour_spec, probe_images, run_regime
from padpos.stages.reliability.runs import spec_with_defaults


# ---------------------------------------------------------------- the task
def test_the_positional_split_puts_each_class_at_its_height_and_the_neutral_one_at_both():
    pos, labels = boxes.draw("positional", 200, 0, "train")
    top = pos[:, 0] < boxes.SIZE // 2
    assert (top == (labels == 0)).all()
    neu, labels = boxes.draw("neutral", 400, 0, "train")
    top = neu[:, 0] < boxes.SIZE // 2
    for label in (0, 1):
        share = top[labels == label].mean()
        assert 0.35 < share < 0.65, share  # every class at both heights
    assert (neu[:, 0] // 16 == neu[:, 2] // 16).all()  # both boxes of an image at one height


def test_the_dissimilar_set_moves_each_class_to_the_other_height_and_keeps_the_colour_order():
    data = boxes.task_data("positional", {"train": 4, "val": 4, "test": 50}, 0)
    (sim, y), (dis, y2) = data["similar"], data["dissimilar"]
    assert torch.equal(y, y2)
    for i in range(len(y)):
        shift = 16 if y[i] == 0 else -16
        assert torch.equal(torch.roll(sim[i], shift, dims=1), dis[i])


def test_a_circular_net_cannot_tell_the_two_test_sets_apart_whatever_its_weights():
    data = boxes.task_data("positional", {"train": 4, "val": 4, "test": 64}, 1)
    net = boxnets.build("content_only", 4, 3).eval()
    with torch.no_grad():
        a, b = net(data["similar"][0]), net(data["dissimilar"][0])
    assert torch.allclose(a, b, atol=1e-5)
    assert boxnets.behaviour(net, data)["gap"] == 0.0


def test_a_zero_padded_net_on_the_positional_split_learns_the_height_and_collapses_on_the_shift():
    torch.set_num_threads(1)
    data = boxes.task_data("positional", {"train": 400, "val": 100, "test": 100}, 0)
    net = boxnets.build("uses", 8, 0)
    boxnets.train(net, *data["train"], epochs=4, batch_size=50, lr=0.003, seed=0)
    does = boxnets.behaviour(net, data)
    assert does["similar"] > 90 and does["gap"] > 50, does


def test_the_probe_scenes_crops_are_their_centres_and_hold_boxes():
    crops, scenes = boxes.box_scenes(8, 32, 16, 0, "test")
    assert torch.equal(scenes[..., 16:48, 16:48], crops)
    assert scenes.sum() > 0 and set(torch.unique(scenes).tolist()) <= {0.0, 1.0}
    again, _ = boxes.box_scenes(8, 32, 16, 0, "test")
    assert torch.equal(crops, again)


def test_unknown_regimes_and_image_sets_are_errors_naming_the_value():
    with pytest.raises(ValueError, match="bogus"):
        behaviour_spec({"regimes": ["bogus"]})
    with pytest.raises(ValueError, match="image_sets"):
        behaviour_spec({"image_sets": ["cifar"]})
    with pytest.raises(ValueError, match="unknown key"):
        behaviour_spec({"widht": 3})


def test_one_regime_runs_every_metric_on_the_same_nets_and_images():
    torch.set_num_threads(1)
    spec = spec_with_defaults({"num_train": 8, "num_test": 8, "context_px": 16, "posenet": {"epochs": 1},
                               "behaviour": {"width": 2, "epochs": 1, "seeds": [0],
                                             "sizes": {"train": 20, "val": 10, "test": 10}}})  # fmt: skip
    sets = {"boxes": probe_images("boxes", spec)}
    runs = run_regime("boundary_only", spec, sets)
    assert list(runs["metric"]) == list(RELIABILITY_METRICS)
    assert (runs["scheme"] == "valid").all() and runs["gap"].nunique() == 1
    ppp = runs.set_index("metric")["value"]
    assert ppp["ppp_snr_db"] == -np.inf  # padding-free with real context: exactly no pattern


# ---------------------------------------------------------------- statistics
def test_auc_and_spearman_are_mann_whitney_and_scipy_spearman():
    rng = np.random.default_rng(0)
    pos, neg, gap = rng.normal(size=(7, 3)), rng.normal(size=(5, 3)), rng.normal(size=7)
    pos[0, 0] = neg[0, 0]  # a tie counts half
    want = [stats.mannwhitneyu(pos[:, j], neg[:, j]).statistic / 35 for j in range(3)]
    assert cmp.auc(pos, neg) == pytest.approx(want)
    assert cmp.spearman(pos, gap) == pytest.approx([stats.spearmanr(pos[:, j], gap).statistic for j in range(3)])
    assert np.isnan(cmp.spearman(np.ones((5, 1)), gap[:5])[0])  # a constant metric ranks nothing
    assert cmp.auc(np.full((2, 1), -np.inf), np.zeros((2, 1)))[0] == 0.0  # -inf ranks lowest


def test_ppp_minus_best_picks_the_best_other_in_every_row():
    metrics = list(RELIABILITY_METRICS)
    stat = np.zeros((2, len(metrics)))
    stat[:, metrics.index("ppp_snr_db")] = 0.8
    stat[0, metrics.index("posenet_spc_V")] = 0.9
    stat[1, metrics.index("location_accuracy")] = 0.6
    stat[1, metrics.index("posenet_spc_H")] = np.nan  # not finite: never the best
    diff, best = cmp.ppp_minus_best(stat, metrics, higher=True)
    assert diff == pytest.approx([-0.1, 0.2])
    assert [metrics[i] for i in best] == ["posenet_spc_V", "location_accuracy"]
    diff, _ = cmp.ppp_minus_best(stat, metrics, higher=False)  # rates: the lowest other
    assert diff == pytest.approx([0.8, 0.8])


# ---------------------------------------------------------------- synthetic studies
def _runs(value, detects, seeds=range(6), failed=()) -> pd.DataFrame:
    """Per-run rows of every regime: ``value(regime, seed, metric)``, ``detects(...)``."""
    rows = []
    for regime in boxnets.REGIMES:
        for seed in seeds:
            gap = 90.0 + seed if regime == "uses" else (float(seed) if regime == "ignores" else 0.0)
            for metric in RELIABILITY_METRICS:
                rows.append(dict(regime=regime, seed=seed, gap=gap, failed=(regime, seed) in failed,
                                 images="boxes", metric=metric, value=value(regime, seed, metric),
                                 detects=detects(regime, seed, metric)))  # fmt: skip
    return pd.DataFrame(rows)


def _verdicts(runs: pd.DataFrame) -> dict[str, dict]:
    table = cmp.comparison_table(runs)
    t = sc.Tables({"metric_comparison": table})
    return {c.id: sc.decide(c, t) for c in CLAIMS if c.id.startswith("LIN23-c.") and "metric_comparison" in c.tables}


def _knows(knower: str):
    """Values in which only ``knower`` reads the use of position (higher on `uses`, growing
    with the gap within each regime); every other metric reads it backwards."""

    def value(regime, seed, metric):
        use = (1.0 if regime == "uses" else 0.0) + 0.01 * seed
        return use if metric == knower else -use

    return value


def test_posenet_separating_the_regimes_where_ppp_does_not_contradicts_ppp():
    verdicts = _verdicts(_runs(_knows("posenet_spc_V"), lambda r, s, m: False))
    assert verdicts["LIN23-c.separation"]["verdict"] == "contradicted"
    assert "posenet_spc_V" in verdicts["LIN23-c.separation"]["inputs"]
    assert verdicts["LIN23-c.gap"]["verdict"] == "contradicted"
    assert verdicts["LIN23-c.fp_boundary"]["verdict"] == "by construction"


def test_ppp_separating_the_regimes_where_the_others_do_not_supports_it():
    verdicts = _verdicts(_runs(_knows("ppp_snr_db"), lambda r, s, m: False))
    assert verdicts["LIN23-c.separation"]["verdict"] == "supported"
    assert verdicts["LIN23-c.gap"]["verdict"] == "supported"


def test_ppp_flagging_every_circular_net_where_another_flags_none_contradicts_its_false_positive_row():
    def detects(regime, seed, metric):
        return regime == "content_only" and metric in ("ppp_snr_db", "posenet_spc_V")

    verdicts = _verdicts(_runs(_knows("posenet_spc_V"), detects))
    row = verdicts["LIN23-c.fp_content"]
    assert row["verdict"] == "contradicted" and row["value"] == 1.0


def test_a_failed_net_is_left_out_counted_and_makes_its_rows_inconclusive():
    runs = _runs(_knows("posenet_spc_V"), lambda r, s, m: False, failed={("uses", 0)})
    table = cmp.comparison_table(runs).set_index(["statistic", "metric"])
    assert table.loc[("separation", "ppp_minus_best"), "n"] == 5
    assert table.loc[("separation", "ppp_minus_best"), "n_failed"] == 1
    assert table.loc[("fpr_content_only", "ppp_minus_best"), "n_failed"] == 0
    verdicts = _verdicts(runs)
    assert verdicts["LIN23-c.separation"]["verdict"] == "inconclusive"
    assert "failed" in verdicts["LIN23-c.separation"]["reason"]
    assert verdicts["LIN23-c.fp_content"]["verdict"] != "inconclusive" or "failed" not in \
        verdicts["LIN23-c.fp_content"]["reason"]  # fmt: skip


def test_the_behaviour_table_reports_what_each_regime_does_and_what_each_metric_reads():
    runs = _runs(_knows("posenet_spc_V"), lambda r, s, m: m == "location_accuracy" and r == "boundary_only")
    table = cmp.behaviour_table(runs).set_index(["regime", "metric"])
    assert table.loc[("uses", "ppp_snr_db"), "gap"] == pytest.approx(92.5)
    assert table.loc[("boundary_only", "location_accuracy"), "detected"] == 1.0
    assert table.loc[("content_only", "location_accuracy"), "detected"] == 0.0


def test_the_comparison_figure_and_tables_come_from_the_commands(tmp_path):
    from padpos.cli import main

    runs = _runs(_knows("posenet_spc_V"), lambda r, s, m: m == "location_accuracy" and r == "boundary_only")
    path = tmp_path / "behaviour.csv"
    runs.to_csv(path, index=False)
    main(["table", "metric_comparison", "--runs", str(path), "--output", str(tmp_path / "metric_comparison.csv")])
    main(["plot-metric-comparison", "--table", str(tmp_path / "metric_comparison.csv"),
          "--output", str(tmp_path / "c.png")])  # fmt: skip
    assert (tmp_path / "c.png").stat().st_size > 0
    table = pd.read_csv(tmp_path / "metric_comparison.csv")
    assert set(table["statistic"]) == set(cmp.STATISTICS)


def test_each_panel_of_the_comparison_figure_names_its_own_best_other_metric():
    """The panels share their y axis: a best-other name in the tick label would show the last
    panel's choice in every panel (the replication figure read 'PPP - posenet_spc_H' where
    the separation and gap panels' best was the location test)."""
    import matplotlib.pyplot as plt

    from padpos.stages.reliability.figures import COMPARISON_PANELS, plot_comparison

    table = cmp.comparison_table(_runs(_knows("posenet_spc_V"), lambda r, s, m: False))
    fig = plot_comparison(table)
    best = table[table["metric"] == "ppp_minus_best"].set_index("statistic")["best_other"]
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]  # the shared axis's labels
    assert "PPP - best other" in labels and not any(lab.startswith("PPP - p") for lab in labels), labels
    for ax, statistic in zip(fig.axes, COMPARISON_PANELS):
        notes = [t.get_text() for t in ax.texts]
        assert f"best other: {best[statistic]}" in notes, (statistic, notes)
    plt.close(fig)
