"""Statistics and tables: honest spread (mean, std, n, ci95, n_failed), the table registry
derived from the manifests, the one ``table`` command, the cost table."""

import math

import numpy as np
import pandas as pd
import pytest

from padpos import stats as tables
from padpos.io import write_table
from padpos.stages import build_table, table_builder, table_registry


# ---------------------------------------------------------------- t quantile
@pytest.mark.parametrize(
    "dof, expected",
    # t(0.975, dof) from statistical tables (also scipy.stats.t.ppf(0.975, dof))
    [(1, 12.706204736174694), (2, 4.302652729749462), (3, 3.1824463052837078),
     (4, 2.7764451051977934), (5, 2.5705818356363146), (9, 2.262157162798205),
     (10, 2.228138851986274), (29, 2.045229642132703), (30, 2.0422724563012378),
     (100, 1.9839715185235518)],
)
def test_t_quantile_matches_known_values(dof, expected):
    assert tables.t_quantile(0.975, dof) == pytest.approx(expected, rel=1e-10)


def test_t_quantile_other_levels_and_limits():
    assert tables.t_quantile(0.5, 7) == pytest.approx(0.0, abs=1e-12)
    assert tables.t_quantile(0.95, 1) == pytest.approx(6.313751514675043, rel=1e-10)
    # many degrees of freedom: the normal quantile 1.959964
    assert tables.t_quantile(0.975, 5000) == pytest.approx(1.9604, abs=1e-3)
    with pytest.raises(ValueError, match="degrees of freedom"):
        tables.t_quantile(0.975, 0)


# ---------------------------------------------------------------- summarize
def test_summarize_mean_std_n_ci95():
    df = pd.DataFrame({"g": ["a"] * 3 + ["b"], "value": [1.0, 2.0, 6.0, 5.0]})
    out = tables.summarize(df, ["g"])
    assert list(out.columns) == ["g", "mean", "std", "n", "ci95", "n_failed"]
    a = out.iloc[0]
    assert a["mean"] == 3.0 and a["n"] == 3 and a["n_failed"] == 0
    assert a["std"] == pytest.approx(np.std([1, 2, 6], ddof=1))
    assert a["ci95"] == pytest.approx(4.302652729749462 * a["std"] / math.sqrt(3))
    b = out.iloc[1]  # one run: no spread, never a zero std
    assert b["n"] == 1 and b["mean"] == 5.0 and math.isnan(b["std"]) and math.isnan(b["ci95"])


def test_summarize_excludes_failed_runs_by_default_and_counts_them():
    df = pd.DataFrame({"g": ["a"] * 4, "value": [80.0, 82.0, 84.0, 10.0],
                       "failed": [False, False, False, True]})
    out = tables.summarize(df, ["g"]).iloc[0]
    assert out["mean"] == 82.0 and out["n"] == 3 and out["n_failed"] == 1
    both = tables.summarize(df, ["g"], exclude_failed=False).iloc[0]
    assert both["mean"] == 64.0 and both["n"] == 4 and both["n_failed"] == 1
    with tables.failed_runs_excluded(False):
        assert tables.summarize(df, ["g"]).iloc[0]["n"] == 4


def test_summarize_failed_column_read_back_from_csv(tmp_path):
    path = tmp_path / "r.csv"
    pd.DataFrame({"g": ["a", "a", "a"], "value": [1.0, 3.0, 100.0], "failed": [False, False, True]}).to_csv(path, index=False)
    out = tables.summarize(pd.read_csv(path), ["g"]).iloc[0]
    assert (out["mean"], out["n"], out["n_failed"]) == (2.0, 2, 1)


def test_summarize_keeps_a_group_whose_runs_all_failed():
    df = pd.DataFrame({"g": ["a", "b"], "value": [1.0, 2.0], "failed": [True, False]})
    out = tables.summarize(df, ["g"]).set_index("g")
    assert out.loc["a", "n"] == 0 and out.loc["a", "n_failed"] == 1 and math.isnan(out.loc["a", "mean"])


def test_summarize_prefix_and_missing_column():
    df = pd.DataFrame({"g": ["a", "a"], "acc": [1.0, 2.0]})
    out = tables.summarize(df, ["g"], "acc", prefix="acc")
    assert list(out.columns) == ["g", "acc_mean", "acc_std", "n", "acc_ci95", "n_failed"]
    with pytest.raises(ValueError, match="value"):
        tables.summarize(df, ["g"])


# ---------------------------------------------------------------- registry and command
def test_every_registered_table_is_found_by_name():
    names = table_registry()
    assert {"training", "ppp", "ppp_formation", "posenet", "posenet_alone", "fconv_redgreen",
            "fconv_location", "cost"} <= set(names)
    for name in names:
        assert callable(table_builder(name))
    with pytest.raises(KeyError, match="unknown table 'nope'.*training"):
        table_builder("nope")


def _training_runs(tmp_path):
    paths = []
    for padding in ("zeros", "circular"):
        for seed in (0, 1, 2):
            rows = [{"arch": "small_resnet", "padding": padding, "seed": seed, "epoch": e,
                     "test_acc": 50.0 + 10 * e + seed} for e in (1, 2)]
            if padding == "circular" and seed == 2:
                for r in rows:
                    r["test_acc"] = 10.0
            path = tmp_path / f"{padding}{seed}.csv"
            df = pd.DataFrame(rows)
            df["failed"] = padding == "circular" and seed == 2
            df.to_csv(path, index=False)
            paths.append(str(path))
    return paths


def test_table_command_writes_csv_md_tex(tmp_path):
    from padpos.cli import main

    out = tmp_path / "tables" / "training.csv"
    main(["table", "training", "--runs", *_training_runs(tmp_path), "--output", str(out)])
    table = pd.read_csv(out).set_index("padding")
    assert list(table.columns) == ["arch", "test_acc_mean", "test_acc_std", "n", "test_acc_ci95",
                                   "n_failed", "epochs"]
    assert table.loc["zeros", "test_acc_mean"] == 71.0 and table.loc["zeros", "n"] == 3
    assert table.loc["circular", "test_acc_mean"] == 70.5 and table.loc["circular", "n_failed"] == 1
    assert (tmp_path / "tables" / "training.md").read_text().count("|") > 10
    assert "\\begin{tabular}" in (tmp_path / "tables" / "training.tex").read_text()

    main(["table", "training", "--runs", *_training_runs(tmp_path), "--output", str(out), "--include-failed"])
    table = pd.read_csv(out).set_index("padding")
    assert table.loc["circular", "n"] == 3 and table.loc["circular", "n_failed"] == 1


def test_table_command_names_an_unknown_table(tmp_path):
    from padpos.cli import main

    with pytest.raises(KeyError, match="unknown table 'trainin'"):
        main(["table", "trainin", "--runs", *_training_runs(tmp_path), "--output", str(tmp_path / "x.csv")])


def test_one_run_has_empty_std_in_every_format(tmp_path):
    df = tables.summarize(pd.DataFrame({"g": ["a"], "value": [0.5]}), ["g"])
    write_table(df, tmp_path / "t.csv")
    back = pd.read_csv(tmp_path / "t.csv")
    assert back["std"].isna().all() and back["ci95"].isna().all()
    assert "nan" not in (tmp_path / "t.md").read_text().lower()
    assert "nan" not in (tmp_path / "t.tex").read_text().lower()


# ---------------------------------------------------------------- figures: one seed
def _finite_error_segments(fig) -> list:
    """Error-bar segments with finite ends in every axes of ``fig``."""
    from matplotlib.collections import LineCollection

    segs = []
    for ax in fig.axes:
        for coll in ax.collections:
            if isinstance(coll, LineCollection):
                segs += [s for s in coll.get_segments() if len(s) and np.isfinite(s).all()]
    return segs


def test_figures_say_one_seed_and_draw_no_zero_error_bar():
    from padpos.stages.fconv_redgreen.figures import plot_redgreen
    from padpos.stages.ppp.figures import plot_by_padding

    runs = pd.DataFrame([{"study": "t", "arch": "small_resnet", "padding": p, "seed": 0, "epoch": 2,
                          "layer": layer, "metric": m, "value": 1.0 + k}
                         for p in ("zeros", "circular") for layer in ("layer1", "layer2")
                         for k, m in enumerate(("ppp_snr_db", "ppp_consistency", "ppp_reach_px"))])
    table = build_table("ppp", runs)
    assert table["std"].isna().all()
    fig = plot_by_padding(table, "one seed")
    assert "1 seed" in fig._suptitle.get_text()
    assert _finite_error_segments(fig) == []

    rg = pd.DataFrame([{"padding": v, "seed": 0, "test_set": t, "accuracy": 60.0}
                       for v in ("valid", "zeros") for t in ("similar", "dissimilar")])
    fig = plot_redgreen(rg, "reduced")
    assert "1 seed" in fig._suptitle.get_text()
    assert _finite_error_segments(fig) == []
    # two seeds: whiskers drawn
    fig = plot_redgreen(pd.concat([rg, rg.assign(seed=1, accuracy=70.0)]), "reduced")
    assert "over 2 seeds" in fig._suptitle.get_text() and _finite_error_segments(fig)


# ---------------------------------------------------------------- costs
BENCH_HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _benchmark(path, seconds, rss, cpu):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BENCH_HEADER + f"{seconds}\t0:00:00\t{rss}\t1\t1\t1\t0\t0\t50\t{cpu}\n")
    return str(path)


def test_cost_table_sums_snakemake_benchmarks_per_rule(tmp_path):
    from padpos.cli import main

    root = tmp_path / "benchmarks" / "default"
    runs = [_benchmark(root / "train" / f"zeros_seed{i}.tsv", 30.0 + i, 900.0 + i, 28.0) for i in (0, 1)]
    runs.append(_benchmark(root / "ppp" / "zeros_seed0_epoch6.tsv", 4.0, 500.0, 3.5))
    (root / "table" / "training.tsv").parent.mkdir(parents=True)
    (root / "table" / "training.tsv").write_text(BENCH_HEADER + "1.5\t0:00:01\t-\t-\t-\t-\t-\t-\t-\t-\n")
    runs.append(str(root / "table" / "training.tsv"))  # a job too short to be measured
    out = tmp_path / "cost.csv"
    main(["table", "cost", "--runs", *runs, "--output", str(out)])
    cost = pd.read_csv(out).set_index("rule")
    assert list(cost.index) == ["train", "ppp", "table", "all"]  # the most expensive first
    assert cost.loc["train", "jobs"] == 2 and cost.loc["train", "total_wall_s"] == 61.0
    assert cost.loc["train", "max_rss_mb"] == 901.0
    assert "total_cpu_s" not in cost  # Snakemake's sampled cpu_time undercounts jobs over 15 s
    assert cost.loc["all", "jobs"] == 4 and cost.loc["all", "total_wall_s"] == 66.5
    assert pd.isna(cost.loc["table", "max_rss_mb"])  # unmeasured stays empty, never 0
    assert cost["share_wall"].iloc[:-1].sum() == pytest.approx(1.0)


def test_every_rule_writes_a_benchmark_file():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for path in [root / "Snakefile", *sorted((root / "workflow" / "rules").glob("*.smk"))]:
        text = path.read_text()
        blocks = re.split(r"^(?=rule |use rule |\S)", text, flags=re.M)
        for block in blocks:
            head = re.match(r"(?:use )?rule (\w+)", block)
            if not head or head.group(1) == "all":  # `all` only names the target: no job
                continue
            assert "    benchmark:" in block, f"rule {head.group(1)} in {path.name} has no benchmark"


# ---------------------------------------------------------------- the runs behind a summary row
def test_recording_runs_keeps_the_runs_behind_every_summary_row():
    runs = pd.DataFrame({"padding": ["zeros"] * 3 + ["none"] * 3, "seed": [1, 2, 3] * 2,
                         "accuracy": [90.0, 80.0, 70.0, 60.0, 65.0, 62.0], "num_test_images": 64,
                         "failed": [False, False, True, False, False, False]})  # fmt: skip
    assert tables.summarize(runs, ["padding"], "accuracy").shape[0] == 2  # nothing recorded outside the block
    with tables.recording_runs() as frames:
        tables.summarize(runs, ["padding"], "accuracy", prefix="accuracy")
    (rec,) = frames
    assert list(rec["value"]) == list(runs["accuracy"]) and list(rec["seed"]) == [1, 2, 3] * 2
    assert list(rec["failed"]) == list(runs["failed"]) and (rec["n_test"] == 64).all()
    assert (rec["prefix"] == "accuracy").all() and rec["converged"].all()
    with tables.recording_runs() as frames:  # a value that is not an accuracy has no test-set size
        tables.summarize(runs.rename(columns={"accuracy": "value"}), ["padding"])
    assert frames[0]["n_test"].isna().all()


def test_claims_reads_the_runs_behind_a_registered_table(tmp_path):
    from padpos.stages.claims.build import parse_runs, run_values

    path = tmp_path / "rg.csv"
    pd.DataFrame({"padding": ["zeros"] * 4, "conv_type": "S-Conv", "seed": [1, 1, 2, 2],
                  "test_set": ["similar", "dissimilar"] * 2, "accuracy": [99.0, 9.0, 98.0, 7.0],
                  "val_accuracy": 99.0, "val_loss": 0.1, "best_epoch": 3, "epochs_run": 5,
                  "train_seconds": 1.0, "failed": False, "converged": True}).to_csv(path, index=False)  # fmt: skip
    assert parse_runs([f"fconv_redgreen:{path}"]) == {"fconv_redgreen": [str(path)]}
    with pytest.raises(ValueError, match="TABLE:PATH"):
        parse_runs([str(path)])
    rec = run_values({"fconv_redgreen": [path]})["fconv_redgreen"]
    assert set(rec.columns) >= {"padding", "test_set", "seed", "value", "failed"} and len(rec) == 4


def test_write_table_escapes_a_pipe_in_markdown_cells(tmp_path):
    df = pd.DataFrame({"rule": ["|x| < 2", "x > 1"], "value": [1.5, math.nan], "a|b": ["c", "d"]})
    write_table(df, tmp_path / "t.csv")
    lines = (tmp_path / "t.md").read_text().splitlines()
    unescaped = [line.replace("\\|", "") for line in lines]
    assert {line.count("|") for line in unescaped} == {len(df.columns) + 1}
    assert "\\|x\\| < 2" in lines[2] and pd.read_csv(tmp_path / "t.csv")["rule"][0] == "|x| < 2"
