"""The replication scorecard: rules, intervals, verdicts from synthetic tables, and every
claim of the four papers present with a verdict from the closed set."""

import math

import numpy as np
import pandas as pd
import pytest

from padpos.stages.claims import scorecard as sc
from padpos.stages.claims.definitions import CLAIMS
from padpos.stages.claims.scorecard import Claim, Group, Rule, Tables, decide, difference, mean_of


def _summary(rows, prefix=""):
    """A summary table as padpos writes it, from (keys..., mean, std, n[, n_failed, n_unconv]) rows."""
    col = (lambda c: f"{prefix}_{c}") if prefix else (lambda c: c)
    out = []
    for keys, mean, std, n, *rest in rows:
        n_failed, n_unconverged = (rest + [0, 0])[:2]
        out.append({**keys, col("mean"): mean, col("std"): std, "n": n, col("ci95"): math.nan,
                    "n_failed": n_failed, "n_unconverged": n_unconverged,
                    "unconverged_seeds": "3" if n_unconverged else ""})  # fmt: skip
    return pd.DataFrame(out)


def _redgreen(similar=(99.0, 1.0), dissimilar=(5.0, 2.0), n=10, variant="zeros", **flags):
    rows = [({"padding": variant, "test_set": "similar"}, *similar, n),
            ({"padding": variant, "test_set": "dissimilar"}, *dissimilar, n)]  # fmt: skip
    table = _summary(rows, "accuracy")
    for key, value in flags.items():
        table[key] = value
    return table


CLAIM = next(c for c in CLAIMS if c.id == "KAY20-a.zeros")


# ---------------------------------------------------------------- rules and intervals
def test_rules_decide_from_the_interval_alone():
    greater, less, within = Rule("greater", 1.0), Rule("less", 1.0), Rule("within", 1.0)
    assert greater.decide(1.1, 3)[0] == "supported" and greater.decide(-2, 0.9)[0] == "contradicted"
    assert greater.decide(0.5, 1.5)[0] == "inconclusive"
    assert less.decide(-3, 0.9)[0] == "supported" and less.decide(1.1, 2)[0] == "contradicted"
    assert within.decide(-0.5, 0.5)[0] == "supported" and within.decide(1.0, 2.0)[0] == "contradicted"
    assert within.decide(0.5, 1.5)[0] == "inconclusive"
    # an interval that only touches the threshold (a tie at [0, 0]) is inconclusive, and says so
    assert Rule("less", 0.0).decide(0.0, 0.0) == ("inconclusive", "95 % interval [0, 0] touches the threshold")
    assert "straddles" in greater.decide(0.5, 1.5)[1]
    with pytest.raises(ValueError):
        Rule("sideways", 0.0)


def test_intervals_are_t_and_welch_over_seeds():
    from scipy import stats

    a, b = Group("a", 10.0, 2.0, 5), Group("b", 4.0, 1.0, 8)
    est = mean_of(a)
    half = stats.t.ppf(0.975, 4) * 2.0 / math.sqrt(5)
    assert (est.low, est.high) == pytest.approx((10 - half, 10 + half))
    diff = difference(a, b)
    ref = stats.ttest_ind_from_stats(10.0, 2.0, 5, 4.0, 1.0, 8, equal_var=False)
    se = 6.0 / ref.statistic  # scipy's Welch t statistic = diff / se
    va, vb = 4 / 5, 1 / 8
    dof = (va + vb) ** 2 / (va**2 / 4 + vb**2 / 7)
    assert diff.value == 6.0
    assert diff.high - diff.value == pytest.approx(stats.t.ppf(0.975, dof) * se)
    assert math.isnan(mean_of(Group("one", 3.0, math.nan, 1)).low)


def test_parametric_bootstrap_covers_a_ratio_and_is_seeded():
    a, b = Group("a", 1.0, 0.1, 10), Group("b", 3.0, 0.3, 10)
    est = sc.bootstrap(lambda x, y: y / x, [a, b])
    assert est.value == pytest.approx(3.0) and est.low < 3.0 < est.high
    assert est.low > 2.0 and est.high < 4.5
    assert sc.bootstrap(lambda x, y: y / x, [a, b]).low == est.low  # seeded


# ---------------------------------------------------------------- verdicts from synthetic tables
def _verdict(claim, **tables):
    return decide(claim, Tables(tables, arch="small_resnet"))


def test_each_verdict_comes_out_of_synthetic_tables():
    assert _verdict(CLAIM, fconv_redgreen=_redgreen())["verdict"] == "supported"
    # no gap between the test sets: the interval lies below the 20-point threshold
    assert _verdict(CLAIM, fconv_redgreen=_redgreen(dissimilar=(98.0, 1.0)))["verdict"] == "contradicted"
    # the gap's interval straddles 20 points: noisy seeds
    noisy = _verdict(CLAIM, fconv_redgreen=_redgreen(similar=(60, 30), dissimilar=(35, 30), n=3))
    assert noisy["verdict"] == "inconclusive" and "straddles" in noisy["reason"]
    circular = next(c for c in CLAIMS if c.id == "KAY20-b.circular.equal")
    made = _verdict(circular, fconv_redgreen=_redgreen(dissimilar=(99.0, 1.0), variant="circular"))
    assert made["verdict"] == "by construction" and made["value"] == 0.0


def test_one_changed_input_table_flips_a_verdict():
    before = _verdict(CLAIM, fconv_redgreen=_redgreen())
    after = _verdict(CLAIM, fconv_redgreen=_redgreen(dissimilar=(97.0, 2.0)))
    assert (before["verdict"], after["verdict"]) == ("supported", "contradicted")


def test_failed_and_unconverged_runs_make_a_claim_inconclusive_naming_them():
    failed = _verdict(CLAIM, fconv_redgreen=_redgreen(n_failed=1))
    assert failed["verdict"] == "inconclusive" and failed["reason"].startswith("failed runs")
    unconverged = _verdict(CLAIM, fconv_redgreen=_redgreen(n_unconverged=1, unconverged_seeds="3 7"))
    assert unconverged["verdict"] == "inconclusive"
    assert unconverged["reason"].startswith("undertrained") and "seeds 3 7" in unconverged["reason"]
    one = _verdict(CLAIM, fconv_redgreen=_redgreen(n_unconverged=1, unconverged_seeds=4.0))  # as read from CSV
    assert "(seeds 4)" in one["reason"]


def test_a_claim_the_study_does_not_measure_is_inconclusive_not_an_error():
    row = _verdict(CLAIM, training=pd.DataFrame({"arch": ["small_resnet"]}))
    assert row["verdict"] == "inconclusive" and row["reason"].startswith("not measured")
    one_seed = _verdict(CLAIM, fconv_redgreen=_redgreen(similar=(99, math.nan), dissimilar=(5, math.nan), n=1))
    assert one_seed["verdict"] == "inconclusive" and "n = 1" in one_seed["reason"]


def test_a_precondition_in_code_makes_a_claim_inconclusive():
    border = next(c for c in CLAIMS if c.id == "ISL21-b.zeros")  # the in-distribution check

    def rings(held_out):
        return _summary([({"padding": "zeros", "canvas": "mean", "task": "class", "ring": r, "chance": 10.0},
                          acc, 1.0, 3) for r, acc in (("0", 90.0), ("1", 99.0), ("all", held_out))])  # fmt: skip

    far = _verdict(border, canvas_location=rings(99.0))  # the mid gap (ring 0) 9 points off
    assert far["verdict"] == "inconclusive" and "out of distribution" in far["reason"]
    assert _verdict(border, canvas_location=rings(92.0))["verdict"] == "supported"


def test_the_arch_column_picks_the_main_arch_and_the_padding_free_arch_for_valid():
    table = pd.concat([
        _summary([({"arch": "small_resnet", "padding": "zeros", "input": "black", "target": "H",
                    "metric": "spc"}, 0.9, 0.01, 3)]),
        _summary([({"arch": "small_plain", "padding": "valid", "input": "black", "target": "H",
                    "metric": "spc"}, 0.0, 0.0, 3)]),
    ])  # fmt: skip
    t = Tables({"posenet": table}, arch="small_resnet", padding_free_arch="small_plain")
    assert t.group("posenet", padding="zeros", input="black", target="H", metric="spc").mean == 0.9
    assert t.group("posenet", padding="valid", input="black", target="H", metric="spc").n == 3


# ---------------------------------------------------------------- the claims themselves
def test_every_claim_of_the_four_papers_is_there_with_a_rule():
    ids = {c.id for c in CLAIMS}
    for needed in ("ISL20-a", "ISL20-b.zeros", "ISL20-c", "ISL21-a.zeros_none", "ISL21-b.zeros", "KAY20-a.valid",
                   "KAY20-a.zeros", "KAY20-b.circular.equal", "KAY20-b.full.equal", "KAY20-c.frozen.near", "KAY20-c.frozen.far",
                   "KAY20-c.trained", "LIN23-a.zeros", "LIN23-b.snr", "LIN23-b.consistency",
                   "LIN23-c.detection"):  # fmt: skip
        assert needed in ids, needed
    for c in CLAIMS:
        assert c.paper in ("ISL20", "ISL21", "KAY20", "LIN23") and c.claim and c.statistic and c.tables


def test_an_empty_study_gives_every_claim_a_verdict_from_the_closed_set():
    card = sc.scorecard(CLAIMS, Tables({}))
    assert list(card["id"]) == [c.id for c in CLAIMS]
    assert set(card["verdict"]) <= set(sc.VERDICTS)
    assert (card["verdict"] == "inconclusive").all()


def test_the_spread_claim_reads_the_deepest_layer_and_every_padded_scheme():
    spread = next(c for c in CLAIMS if c.id == "LIN23-b.snr")
    rows = []
    for i, scheme in enumerate(("zeros", "reflect", "circular", "partial")):
        for epoch, mean in ((0, -10.0 - 8 * i), (6, -12.0 - 0.5 * i)):
            for layer in ("layer1", "layer4"):
                rows.append(({"padding": scheme, "epoch": epoch, "layer": layer, "metric": "ppp_snr_db"},
                             mean, 0.2, 3))  # fmt: skip
    row = _verdict(spread, ppp_formation=_summary(rows))
    expected = np.std([-12.0, -12.5, -13.0, -13.5], ddof=1) - np.std([-10, -18, -26, -34], ddof=1)
    assert row["value"] == pytest.approx(expected) and row["verdict"] == "supported"


def test_the_claims_command_writes_the_scorecard_and_its_figure(tmp_path):
    from padpos.cli import main

    path = tmp_path / "fconv_redgreen.csv"
    _redgreen().to_csv(path, index=False)
    out = tmp_path / "claims.csv"
    assert main(["claims", "--tables", str(path), "--spec", '{"arch": "small_resnet"}', "--output", str(out)]) == 0
    card = pd.read_csv(out)
    assert len(card) == len(CLAIMS) and (tmp_path / "claims.md").exists() and (tmp_path / "claims.tex").exists()
    assert card.set_index("id").loc["KAY20-a.zeros", "verdict"] == "supported"
    # claims.md is a readable Markdown table: every row has the header's cells (a "|" in a
    # cell, e.g. a rule written "|x| < 2", would split it)
    rows = (tmp_path / "claims.md").read_text().splitlines()
    assert len(rows) == len(CLAIMS) + 2
    assert {row.count("|") for row in rows} == {len(card.columns) + 1}
    assert main(["plot-claims", "--table", str(out), "--output", str(tmp_path / "claims.png")]) == 0
    assert (tmp_path / "claims.png").stat().st_size > 10_000


def test_claim_definitions_are_fixed_data():
    assert all(isinstance(c, Claim) for c in CLAIMS)
    with pytest.raises(Exception):
        CLAIMS[0].rule = Rule("less", 0.0)  # frozen: a rule cannot be tuned after the fact


def test_the_protocols_table_of_rules_is_the_code(repo):
    """docs/protocols.md section 8's table of rules is generated from definitions/
    (`padpos claims-rules --update`): a rule changed in one and not the other fails here."""
    text = (repo / "docs" / "protocols.md").read_text()
    section = text[text.index("## 8. The claims the scorecard decides"):]
    assert sc.replace_rules_block(section, sc.rules_markdown(CLAIMS)) == section
    for claim in CLAIMS:
        assert f"| {claim.id} |" in section, claim.id
    # a changed threshold is caught
    moved = [Claim(**{**c.__dict__, "rule": Rule(c.rule.direction, c.rule.threshold + 1, c.rule.unit)}) for c in CLAIMS]
    assert sc.replace_rules_block(section, sc.rules_markdown(moved)) != section


def test_the_pretrained_claims_read_the_listed_torchvision_model():
    rows = [({"model": m, "padding": p, "layer": "all", "input": "natural", "target": "H", "metric": "spc"},
             mean, 0.02, 3)
            for m, p, mean in (("torchvision:vgg16:IMAGENET1K_V1", "native", 0.8),
                               ("torchvision:vgg16:IMAGENET1K_V1", "valid", 0.3),
                               ("torchvision:vgg16_bn:IMAGENET1K_V1", "native", 0.1))]  # fmt: skip
    table = _summary(rows)
    by_id = {c.id: c for c in CLAIMS}
    assert _verdict(by_id["ISL20-d.vgg16"], pretrained_posenet=table)["value"] == pytest.approx(0.8)
    assert _verdict(by_id["ISL20-d.vgg16_padding"], pretrained_posenet=table)["verdict"] == "supported"
    missing = _verdict(by_id["ISL20-d.resnet152"], pretrained_posenet=table)
    assert missing["verdict"] == "inconclusive" and "resnet152" in missing["reason"]


# ---------------------------------------------------------------- guards (issue 25): each turns a verdict
# into `inconclusive`, and a paired design resolves what an unpaired one cannot; every test
# here fails on the scorecard before the guards (no per-run values, no binomial term, no
# saturation, Welch on summary rows)
def _runs_table(rows):
    """Per-run rows (keys..., seed, value[, n_test]) as recording_runs() gives them."""
    return pd.DataFrame([{**keys, "seed": seed, "value": value, "prefix": "", "failed": False,
                          "converged": True, "n_test": n_test}
                         for keys, seed, value, n_test in rows])  # fmt: skip


def _study(arms: dict, name="border_distance", n_test=math.nan):
    """A summary table and its runs from {keys-tuple: [per-seed values]} (seeds 1, 2, 3...)."""
    summary, runs = [], []
    for keys, values in arms.items():
        keys = dict(keys)
        summary.append((keys, float(np.mean(values)), float(np.std(values, ddof=1)), len(values)))
        runs += [(keys, seed, v, n_test) for seed, v in enumerate(values, start=1)]
    return {name: _summary(summary)}, {name: _runs_table(runs)}


BORDER = Claim("T-border", "ISL21", "near the border is worse", ("border_distance",), "far minus near",
               Rule("greater", 1.0, "points"),
               lambda t: difference(t.group("border_distance", padding="zeros", distance_px=16),
                                    t.group("border_distance", padding="zeros", distance_px=0)))  # fmt: skip
# zeros' 16 px minus 0 px in the issue: +7.0, +14.5, +10.2 points on seeds whose levels differ
PAIRED_ARMS = {(("padding", "zeros"), ("distance_px", 16)): [80.0, 90.0, 70.0],
               (("padding", "zeros"), ("distance_px", 0)): [73.0, 75.5, 59.8]}  # fmt: skip


def test_a_paired_design_resolves_what_welch_on_summary_rows_cannot():
    summary, runs = _study(PAIRED_ARMS)
    unpaired = decide(BORDER, Tables(summary))  # the summary rows alone: Welch
    paired = decide(BORDER, Tables(summary, runs=runs))
    assert unpaired["verdict"] == "inconclusive" and unpaired["method"] == "Welch t"
    assert paired["verdict"] == "supported" and paired["method"] == "paired t"
    d = np.array([7.0, 14.5, 10.2])
    from scipy import stats

    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / math.sqrt(3)
    assert (paired["ci_low"], paired["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert "80, 90, 70" in paired["inputs"]  # the runs behind the row are named


def test_seeds_that_do_not_match_are_not_paired():
    a = Group.from_runs("a", [1.0, 2.0, 3.0], seeds=[1, 2, 3])
    b = Group.from_runs("b", [1.0, 2.0, 3.0], seeds=[4, 5, 6])
    assert sc.shared_seeds([a, b]) is None and difference(a, b).method == "Welch t"
    with pytest.raises(sc.NotPaired):
        difference(a, b, paired=True)


def test_a_group_carries_its_runs_only_when_they_are_exactly_the_rows_runs():
    summary, runs = _study(PAIRED_ARMS)
    t = Tables(summary, runs=runs)
    g = t.group("border_distance", padding="zeros", distance_px=16)
    assert g.by_seed() == {1: 80.0, 2: 90.0, 3: 70.0}
    # a failed run is left out, as in the mean; a count that differs from the row's n drops them
    runs["border_distance"].loc[0, "failed"] = True
    assert Tables(summary, runs=runs).group("border_distance", padding="zeros", distance_px=16).values == ()


def test_test_set_noise_widens_a_ceiling_accuracy():
    perfect = Group.from_runs("cell", [100.0, 100.0, 100.0], n_test=64)
    est = mean_of(perfect)
    assert est.high == 100.0 and 93.5 < est.low < 95.0  # Wilson's lower end for 64 / 64 is 94.3
    assert mean_of(Group.from_runs("cell", [100.0, 100.0, 100.0])).low == 100.0  # no test size: none
    # a difference of two 100 % arms on 64 images: not [0, 0]
    d = difference(perfect, Group.from_runs("other", [100.0, 100.0, 100.0], n_test=64))
    assert d.low < -5 and d.high > 5 and "binomial" in d.method


def test_test_set_noise_turns_a_threshold_verdict_inconclusive():
    learns = Claim("T-learns", "KAY20", "learns", ("fconv_location",), "accuracy", Rule("greater", 90.0, "%"),
                   lambda t: mean_of(t.group("fconv_location", padding="zeros", border=0)))  # fmt: skip
    arms = {(("padding", "zeros"), ("border", 0)): [94.0, 94.0, 94.0]}
    summary, runs = _study(arms, "fconv_location", n_test=40)
    assert decide(learns, Tables(summary))["verdict"] == "supported"  # std 0: [94, 94]
    row = decide(learns, Tables(summary, runs=runs))
    assert row["verdict"] == "inconclusive" and row["ci_low"] < 90.0


def test_the_saturation_guard_names_the_arms_at_the_ceiling_and_at_chance():
    guarded = Claim(**{**BORDER.__dict__, "saturation": sc.Saturation(chance=50.0)})
    ceiling = {(("padding", "zeros"), ("distance_px", 16)): [100.0, 100.0, 99.8],
               (("padding", "zeros"), ("distance_px", 0)): [98.2, 98.5, 98.0]}  # fmt: skip
    summary, runs = _study(ceiling)
    assert decide(BORDER, Tables(summary, runs=runs))["verdict"] == "supported"  # unguarded
    row = decide(guarded, Tables(summary, runs=runs))
    assert row["verdict"] == "inconclusive" and row["reason"].startswith("saturated")
    assert "distance_px" not in row["reason"] and "16" in row["reason"] and ">= 98 %" in row["reason"]
    floor = {(("padding", "zeros"), ("distance_px", 16)): [51.9, 51.5, 51.8],
             (("padding", "zeros"), ("distance_px", 0)): [48.5, 48.2, 48.4]}  # fmt: skip
    summary, runs = _study(floor)
    assert decide(BORDER, Tables(summary, runs=runs))["verdict"] == "supported"
    row = decide(guarded, Tables(summary, runs=runs))
    assert row["verdict"] == "inconclusive" and "of chance (50 %)" in row["reason"]
    # one arm at the ceiling and the other not is a contrast, not saturation
    open_ = {(("padding", "zeros"), ("distance_px", 16)): [99.0, 99.5, 99.2],
             (("padding", "zeros"), ("distance_px", 0)): [80.0, 85.0, 83.0]}  # fmt: skip
    summary, runs = _study(open_)
    assert decide(guarded, Tables(summary, runs=runs))["verdict"] == "supported"


def test_per_seed_and_ratio_statistics():
    init = Group.from_runs("init", [1.0, 2.0, 4.0])
    trained = Group.from_runs("trained", [3.0, 6.2, 11.8])
    est = sc.ratio(init, trained)
    assert est.method == "paired t on log ratios" and est.value == pytest.approx(np.exp(np.log([3, 3.1, 2.95]).mean()))
    assert 2.0 < est.low < est.value < est.high < 4.0
    # unpaired: the ratio of means, bootstrap
    assert sc.ratio(init, trained, paired=False).method == "parametric bootstrap"
    spread = sc.per_seed(lambda a, b, c: np.std([a, b, c], axis=0, ddof=1),
                         [init, trained, Group.from_runs("x", [0.0, 0.0, 0.0])])  # fmt: skip
    assert spread.n == 3 and spread.low < spread.value < spread.high


def test_agreement_with_the_published_value_is_its_own_column():
    p = sc.Published(73.7, "KAY20 README", sd=1.0, floor=0.5)
    assert p.tolerance() == 1.0
    assert p.agreement(64.6, 63.0, 66.2)[0] == "differs"
    assert p.agreement(72.0, 71.0, 73.0)[0] == "agrees"  # 73.7 within [71, 73] + 1
    assert sc.Published(.742, "ISL20", comparable="VGG-16 on PASCAL-S").agreement(.9, .8, 1.0)[0] == "not comparable"
    # no value (every run failed): not measured, not "not comparable"
    assert p.agreement(math.nan, math.nan, math.nan) == ("not measured", "the study has no value for this row")
    # an interval that spans the claim's threshold holds any value: too wide, not agrees;
    # outside even a wide interval still differs
    above_60 = Rule("greater", 60.0, "%")
    assert p.agreement(61.0, 10.6, 111.2, rule=above_60)[0] == "too wide"
    assert p.agreement(72.0, 71.0, 73.0, rule=above_60)[0] == "agrees"
    assert p.agreement(30.0, 10.0, 50.0, rule=above_60)[0] == "differs"
    assert sc.Published(0.0, "KAY20").agreement(0.0, -4.2, 4.2, rule=Rule("within", 2.0))[0] == "too wide"
    claim = Claim(**{**BORDER.__dict__, "published": p})
    summary, runs = _study(PAIRED_ARMS)
    row = decide(claim, Tables(summary, runs=runs))
    assert (row["paper_value"], row["paper_sd"], row["paper_agreement"]) == (73.7, 1.0, "differs")
    assert decide(BORDER, Tables(summary))["paper_agreement"] == "no published value"


def test_schemes_that_compute_the_same_function_are_one_row():
    eq = pd.DataFrame({"arch": ["small_resnet"] * 3, "scheme": ["zeros", "replicate", "symmetric"],
                       "same_as": ["zeros", "replicate", "replicate"], "max_abs_diff": [0.0, 0.0, 0.0]})  # fmt: skip
    claims = [Claim(f"T.{s}", "LIN23", s, ("x",), s, Rule("greater", 0.0), lambda t: mean_of(Group("g", 1, 0.1, 3)),
                    scheme=s) for s in ("zeros", "replicate", "symmetric")]  # fmt: skip
    card = sc.scorecard(claims, Tables({"scheme_equivalence": eq}, arch="small_resnet"))
    assert list(card["id"]) == ["T.zeros", "T.replicate"]
    assert "symmetric = replicate" in card.set_index("id").loc["T.replicate", "note"]
    t = Tables({"scheme_equivalence": eq}, arch="small_resnet")
    assert t.scheme_arms(["zeros", "replicate", "symmetric"])[0] == ["zeros", "replicate"]
    # without the table every scheme is its own arm
    assert len(sc.scorecard(claims, Tables({}))) == 3


# ---------------------------------------------------------------- claims at the papers' strength (issue 26)
def _claim(claim_id):
    return next(c for c in CLAIMS if c.id == claim_id)


def _ppp_study(per_scheme: dict, metric="ppp_consistency", trained_epoch=6):
    """ppp_formation and its runs from {scheme: (init per-seed values, trained per-seed values)}."""
    arms = {}
    for scheme, (init, trained) in per_scheme.items():
        for epoch, values in ((0, init), (trained_epoch, trained)):
            arms[(("padding", scheme), ("epoch", epoch), ("layer", "layer4"), ("metric", metric))] = values
    return _study(arms, "ppp_formation")


def test_lin23_a_asks_for_primarily_not_any_growth():
    # trained / init = 1.5 on every seed: grown, but less than half of the trained pattern from training
    summary, runs = _ppp_study({"zeros": ([0.10, 0.20, 0.40], [0.15, 0.30, 0.60])})
    row = decide(_claim("LIN23-a.zeros"), Tables(summary, runs=runs))
    assert row["value"] == pytest.approx(1.5) and row["verdict"] == "contradicted"
    assert row["method"] == "paired t on log ratios"
    summary, runs = _ppp_study({"zeros": ([0.10, 0.20, 0.40], [0.52, 0.95, 2.1])})
    assert decide(_claim("LIN23-a.zeros"), Tables(summary, runs=runs))["verdict"] == "supported"


def _equivalence(arch="small_resnet"):
    return pd.DataFrame({"arch": arch, "scheme": list(SAME), "same_as": [s if s != "symmetric" else "replicate"
                                                                        for s in SAME], "max_abs_diff": 0.0})  # fmt: skip


SAME = ("zeros", "reflect", "replicate", "circular", "partial", "none", "symmetric")


def test_symmetric_equal_to_replicate_is_one_row_and_one_entry_of_the_spread():
    per_scheme = {s: ([0.1 + 0.05 * i, 0.12 + 0.05 * i, 0.11 + 0.05 * i], [0.5, 0.52, 0.51]) for i, s in enumerate(SAME)}
    per_scheme["symmetric"] = per_scheme["replicate"]
    summary, runs = _ppp_study(per_scheme)
    tables = Tables({**summary, "scheme_equivalence": _equivalence()}, arch="small_resnet", runs=runs)
    card = sc.scorecard(CLAIMS, tables).set_index("id")
    assert "LIN23-a.symmetric" not in card.index and "LIN23-a.replicate" in card.index
    assert "symmetric = replicate" in card.loc["LIN23-a.replicate", "note"]
    spread = card.loc["LIN23-b.consistency"]
    assert "symmetric = replicate" in spread["note"]
    distinct = [s for s in SAME if s != "symmetric"]
    init = np.array([per_scheme[s][0] for s in distinct])  # scheme x seed
    trained = np.array([per_scheme[s][1] for s in distinct])
    expected = (trained.std(axis=0, ddof=1) - init.std(axis=0, ddof=1)).mean()
    assert spread["value"] == pytest.approx(expected) and spread["method"] == "paired t over seeds"
    # without the equivalence table the twin counts as its own arm (the study did not test it)
    assert "LIN23-a.symmetric" in set(sc.scorecard(CLAIMS, Tables(summary, runs=runs))["id"])


def test_the_equivalence_table_finds_symmetric_equal_to_replicate_on_3x3_convs():
    from padpos.stages.claims.equivalence import scheme_equivalence

    table = scheme_equivalence("small_resnet", ["zeros", "replicate", "symmetric", "reflect"], 16, 4).set_index("scheme")
    assert table.loc["symmetric", "same_as"] == "replicate"
    assert (table.loc[["zeros", "replicate", "reflect"], "same_as"] == ["zeros", "replicate", "reflect"]).all()


def _location_study(frozen: dict, scratch: dict, n_test=80):
    arms = {}
    for init, curve in (("random-frozen", frozen), ("scratch", scratch)):
        for border, values in curve.items():
            arms[(("padding", "zeros"), ("init", init), ("border", border))] = values
    summary, runs = _study(arms, "fconv_location", n_test=n_test)
    summary["fconv_location"] = summary["fconv_location"].rename(
        columns={"mean": "accuracy_mean", "std": "accuracy_std", "ci95": "accuracy_ci95"})
    runs["fconv_location"]["prefix"] = "accuracy"
    return summary, runs


def test_kay20_c_reads_the_borders_where_the_papers_curve_says_something():
    frozen = {0: [100.0, 100.0, 100.0], 64: [79.0, 82.0, 80.0], 128: [51.0, 52.0, 50.0]}
    scratch = {0: [100.0] * 3, 64: [100.0] * 3, 128: [100.0] * 3}
    kay20_c = [c for c in CLAIMS if c.id.startswith("KAY20-c")]
    summary, runs = _location_study(frozen, scratch, n_test=400)
    card = sc.scorecard(kay20_c, Tables(summary, runs=runs)).set_index("id")
    near, far, trained = card.loc["KAY20-c.frozen.near"], card.loc["KAY20-c.frozen.far"], card.loc["KAY20-c.trained"]
    assert near["verdict"] == "supported" and near["paper_agreement"] == "agrees" and near["paper_value"] == 80.5
    assert far["verdict"] == "supported" and far["paper_agreement"] == "agrees"
    assert trained["verdict"] == "supported" and "128" in trained["inputs"]  # the largest border <= 256
    assert "binomial" in trained["method"] and trained["ci_low"] < 100.0  # 100 % on 400 images is not [100, 100]
    # on 80 test images (the replication study's) 51 % cannot be told from 60 %: Wilson reaches ~62
    summary, runs = _location_study(frozen, scratch, n_test=80)
    assert sc.scorecard(kay20_c, Tables(summary, runs=runs)).set_index("id").loc["KAY20-c.frozen.far", "verdict"] == "inconclusive"
    # the old rule (the largest swept border < 60 %) read B = 64 only; a study without 128 says so
    summary, runs = _location_study({64: [61.0, 60.0, 63.0]}, {64: [100.0] * 3})
    card = sc.scorecard([_claim("KAY20-c.frozen.far")], Tables(summary, runs=runs)).set_index("id")
    assert card.loc["KAY20-c.frozen.far", "verdict"] == "inconclusive"
    assert "border 128" in card.loc["KAY20-c.frozen.far", "reason"]


def test_kay20_rows_state_agreement_with_the_published_table():
    # circular learns at 64.6 % over 10 seeds: above 60 (supported) but 9 published SDs off 73.7
    values = [64.6 + d for d in (-1.0, 1.0, -0.5, 0.5, 0.0, -0.3, 0.3, -0.8, 0.8, 0.0)]
    rows = [({"padding": "circular", "test_set": "similar"}, float(np.mean(values)), float(np.std(values, ddof=1)), 10)]
    t = Tables({"fconv_redgreen": _summary(rows, "accuracy")}, settings={"redgreen_test_images": 1000})
    row = decide(_claim("KAY20-b.circular.learns"), t)
    assert row["verdict"] == "supported" and row["paper_agreement"] == "differs"
    assert (row["paper_value"], row["paper_sd"], row["paper_tolerance"]) == (73.7, 1.0, 1.0)
    assert "binomial" in row["method"]  # the test set's 1000 images
    gap = decide(_claim("KAY20-a.valid"), Tables({"fconv_redgreen": _redgreen(similar=(100.0, 0.0), dissimilar=(0.3, 0.2),
                                                                               variant="valid")}))  # fmt: skip
    assert gap["paper_agreement"] == "agrees" and gap["paper_value"] == 99.8


def test_isl20_a_gains_a_row_against_the_padding_free_backbone_naming_the_architectures():
    arms = {(("arch", "small_resnet"), ("padding", "zeros"), ("input", "natural"), ("target", "H"), ("metric", "spc")):
            [0.95, 0.96, 0.97],
            (("arch", "small_plain"), ("padding", "valid"), ("input", "natural"), ("target", "H"), ("metric", "spc")):
            [0.78, 0.79, 0.80]}  # fmt: skip
    summary, runs = _study(arms, "posenet")
    t = Tables(summary, arch="small_resnet", padding_free_arch="small_plain", runs=runs,
               settings={"dataset": "synthetic"})
    row = decide(_claim("ISL20-a.padding_free"), t)
    assert row["value"] == pytest.approx(0.17) and row["verdict"] == "contradicted"  # .17 < .2, every seed
    assert "small_resnet (padded) vs small_plain" in row["note"]
    assert row["paper_agreement"] == "not comparable" and "synthetic" in row["paper_source"]
