"""The claims of [LIN23] Lin et al., ICML 2023 (PPP): how padding-induced position forms,
and PPP against the other metrics."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from padpos.names import SAME_SIZE_SCHEMES
from padpos.stages.claims.scorecard import (
    Claim,
    Estimate,
    Group,
    NotMeasured,
    Rule,
    Tables,
    bootstrap,
    mean_of,
    per_seed,
    ratio,
    shared_seeds,
)

# ---------------------------------------------------------------- [LIN23] PPP
def _deepest_layer(t: Tables) -> str:
    layers = t.values("ppp_formation", "layer")
    if not layers:
        raise NotMeasured("ppp_formation has no rows")
    return layers[-1]  # the table lists layers shallow to deep


def _epochs(t: Tables) -> tuple[int, int]:
    epochs = sorted(int(e) for e in t.values("ppp_formation", "epoch"))
    if len(epochs) < 2 or epochs[0] != 0:
        raise NotMeasured("ppp_formation needs epoch 0 (initialisation) and a trained epoch")
    return epochs[0], epochs[-1]


def _ppp(t: Tables, padding: str, epoch: int, metric: str):
    return t.group("ppp_formation", padding=padding, epoch=epoch, layer=_deepest_layer(t), metric=metric)


def _growth(padding: str):
    """PPP consistency, trained / initialisation: the geometric mean of the per-seed ratios
    (the same seed's net at both epochs: paired), else the ratio of the means."""

    def estimate(t: Tables) -> Estimate:
        first, last = _epochs(t)
        init, trained = _ppp(t, padding, first, "ppp_consistency"), _ppp(t, padding, last, "ppp_consistency")
        return ratio(init, trained)

    return estimate


def _padded_schemes(t: Tables) -> tuple[list[str], list[str]]:
    """The study's same-size schemes, one per distinct function on its arch (schemes that
    compute the same function are one arm: scheme_equivalence), and the notes saying so."""
    present = [p for p in t.values("ppp_formation", "padding") if p in SAME_SIZE_SCHEMES]
    return t.scheme_arms(present)


def _spread_change(metric: str):
    """Std across padding schemes (one per distinct function) of the metric at the deepest
    layer, trained minus initialisation: seed by seed where every scheme has the same seeds
    at both epochs (paired), else of the means with a parametric bootstrap."""

    def estimate(t: Tables) -> Estimate:
        first, last = _epochs(t)
        schemes, notes = _padded_schemes(t)
        if len(schemes) < 3:
            raise NotMeasured(f"ppp_formation has {len(schemes)} distinct padding schemes; a spread needs >= 3")
        groups = [_ppp(t, p, first, metric) for p in schemes] + [_ppp(t, p, last, metric) for p in schemes]
        k = len(schemes)

        def change(*means):
            m = np.stack(np.broadcast_arrays(*means))
            return m[k:].std(axis=0, ddof=1) - m[:k].std(axis=0, ddof=1)

        est = per_seed(change, groups, "paired t over seeds") if shared_seeds(groups) else bootstrap(change, groups)
        est.notes.extend(notes)
        return est

    return estimate


def _reliability(t: Tables, metric: str, column: str):
    df = t.table("metric_reliability_summary")
    rows = df[df["metric"] == metric]
    if rows.empty or column not in rows:
        raise NotMeasured(f"metric_reliability_summary has no {column} for {metric}")
    return rows.iloc[0]


def _dose_tracking(t: Tables) -> Estimate:
    g = t.group("metric_reliability_summary", prefix="spearman", metric="ppp_snr_db")
    return mean_of(g)


def _control_ppp(t: Tables) -> Estimate:
    """The control's PPP SNR: -inf dB (an exactly zero pattern) on every seed."""
    g = t.group("metric_reliability", mean="value", network="position_free_control", images="photos",
                metric="ppp_snr_db")  # fmt: skip
    return Estimate(g.mean, g.mean, g.mean, g.n, "exact (every seed)", [g])


def _detection_advantage(t: Tables) -> Estimate:
    """PPP's calibrated detection rate on the padded trained backbones minus the best of
    PosENet's (any target) and the location test's, each at its own null's threshold;
    Newcombe's interval for a difference of two proportions (Wilson scores)."""
    rows = {m: _reliability(t, m, "calibrated_tpr") for m in
            ("ppp_snr_db", "posenet_spc_H", "posenet_spc_V", "posenet_spc_G", "location_accuracy")}  # fmt: skip
    ppp = rows["ppp_snr_db"]
    best = max((r for m, r in rows.items() if m != "ppp_snr_db"), key=lambda r: r["calibrated_tpr"])
    return newcombe(int(ppp["n_positive_detected"]), int(ppp["n_positive"]),
                    int(best["n_positive_detected"]), int(best["n_positive"]))  # fmt: skip


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's 95 % score interval of a proportion k / n."""
    from scipy import stats

    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def newcombe(k1: int, n1: int, k2: int, n2: int) -> Estimate:
    """p1 - p2 with Newcombe's hybrid score interval (method 10)."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Estimate(d, low, high, min(n1, n2), "Newcombe (Wilson)", [])


# ---------------------------------------------------------------- [LIN23] by behaviour (protocols 6c)
COMPARISON_IMAGES = "boxes"  # the probe images the scorecard reads (the box nets' own domain)
LIN23_RELIABLY = "measure PPP more reliably than the existing metrics based on PosENet and a test in F-Conv"


def _comparison(statistic: str) -> Callable[[Tables], Estimate]:
    """PPP SNR minus the best other metric on ``statistic`` (table ``metric_comparison``,
    the box probe scenes), with the table's paired bootstrap interval over nets."""

    def estimate(t: Tables) -> Estimate:
        df = t.table("metric_comparison")
        rows = df[(df["statistic"] == statistic) & (df["metric"] == "ppp_minus_best")
                  & (df["images"].astype(str) == COMPARISON_IMAGES)]  # fmt: skip
        if rows.empty:
            raise NotMeasured(f"metric_comparison has no {statistic} row on {COMPARISON_IMAGES}")
        row = rows.iloc[0]
        group = Group(f"metric_comparison[{statistic}, PPP SNR minus {row['best_other']}, {row['regimes']}]",
                      float(row["value"]), math.nan, int(row["n"]), n_failed=int(row["n_failed"]))  # fmt: skip
        return Estimate(float(row["value"]), float(row["ci_low"]), float(row["ci_high"]), int(row["n"]),
                        "paired bootstrap over nets (the best other chosen in every resample)", [group])  # fmt: skip

    return estimate


def _lin23_comparison() -> list[Claim]:
    rows = (
        ("separation", "ranks the padded nets that use position (their task rewards it) above the "
         "padded nets that do not", "AUC between the `uses` and `ignores` box nets", "greater", ""),
        ("gap", "orders the padded nets by how much they use position", "Spearman rho with the "
         "behavioural gap (similar minus dissimilar accuracy) over the padded box nets", "greater", ""),
        ("fp_content", "flags fewer nets that cannot read absolute position (circular)", "nominal "
         "false-positive rate on the `content_only` (circular) box nets", "less", ""),
        ("fp_boundary", "flags fewer nets that read only the map boundary (valid, no padding)",
         "nominal false-positive rate on the `boundary_only` (valid) box nets", "less",
         "PPP of a padding-free net with real context is exactly 0, so PPP cannot flag a "
         "boundary-only net: the difference is <= 0 whatever the data (the others' rates are in "
         "metric_comparison)"),
    )  # fmt: skip
    statistic = {"separation": "separation", "gap": "gap_rho", "fp_content": "fpr_content_only",
                 "fp_boundary": "fpr_boundary_only"}  # fmt: skip
    return [
        Claim(
            f"LIN23-c.{name}", "LIN23",
            f"PPP measures position from padding more reliably than PosENet and the location test: it {what}",
            ("metric_comparison",),
            f"{measured}, PPP SNR minus the {'highest' if direction == 'greater' else 'lowest'} of "
            f"PosENet (H, V, G) and the location test ({COMPARISON_IMAGES} probe scenes)",
            Rule(direction, 0.0),
            _comparison(statistic[name]),
            paper_value=f'[LIN23]: "{LIN23_RELIABLY}"',
            by_construction=by_construction,
        )
        for name, what, measured, direction, by_construction in rows
    ]


def _lin23_a() -> list[Claim]:
    return [
        Claim(
            f"LIN23-a.{scheme}", "LIN23",
            f"PPP is primarily a learning artifact ({scheme} padding): more than half of the trained "
            "pattern comes from training",
            ("ppp_formation",),
            f"PPP consistency at the deepest layer, trained / initialisation ({scheme}; the same "
            "measurement, BatchNorm re-estimated, at every epoch; geometric mean of the per-seed ratios)",
            Rule("greater", 2.0, "x"),
            _growth(scheme),
            scheme=scheme,
        )
        for scheme in SAME_SIZE_SCHEMES
    ]


LIN23 = [
    *_lin23_a(),
    Claim(
        "LIN23-b.snr", "LIN23",
        "After training, PPP depends less on the padding scheme: the spread of PPP SNR across "
        "schemes shrinks",
        ("ppp_formation",),
        "std across the distinct padding schemes (one per function) of PPP SNR (dB) at the deepest layer, "
        "trained minus initialisation (seed by seed where paired)",
        Rule("less", 0.0, "dB"),
        _spread_change("ppp_snr_db"),
    ),
    Claim(
        "LIN23-b.consistency", "LIN23",
        "... and so does the spread of PPP consistency",
        ("ppp_formation",),
        "std across the distinct padding schemes (one per function) of PPP consistency at the deepest layer, "
        "trained minus initialisation (seed by seed where paired)",
        Rule("less", 0.0),
        _spread_change("ppp_consistency"),
    ),
    Claim(
        "LIN23-c.null", "LIN23",
        "PPP reads nothing where no padding exists (a padding-free net on real-context crops)",
        ("metric_reliability",),
        "PPP SNR (dB) of the padding-free control net, photograph crops",
        Rule("less", -100.0, "dB"),
        _control_ppp,
        by_construction="a net without padding, evaluated with real context, computes the same "
        "features for a crop and for its context's centre: the border term is 0 by definition",
    ),
    Claim(
        "LIN23-c.dose", "LIN23",
        "PPP tracks a known amount of position information injected into a padding-free net",
        ("metric_reliability_summary",),
        "Spearman correlation of PPP SNR with the injected dose (mean over seeds)",
        Rule("greater", 0.9),
        _dose_tracking,
        by_construction="the injected map is the same for every image and PPP averages the feature "
        "difference against real context over images, so the map passes into PPP in proportion to "
        "the dose by design",
    ),
    Claim(
        "LIN23-c.detection", "LIN23",
        "PPP detects padding-induced position more reliably than PosENet and the location test: "
        "at the same false-positive rate it detects more of the padded networks",
        ("metric_reliability_summary",),
        "detection rate on the trained padded backbones, PPP minus the best other metric, each "
        "metric thresholded at its own null (the padding-free control's seeds)",
        Rule("greater", 0.0),
        _detection_advantage,
        by_construction="PPP's null on the padding-free control is exactly -inf dB on every seed, so "
        "its threshold is -inf and it detects every padded net: the difference is >= 0 whatever the "
        "data (the behavioural rows LIN23-c.separation, .gap and .fp_* decide the claim)",
    ),
    *_lin23_comparison(),
]
