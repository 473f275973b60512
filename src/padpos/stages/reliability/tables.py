"""Tables of the metric-reliability stage (docs/protocols.md section 6; docs/reliability.md),
from the per-run rows of :mod:`padpos.stages.reliability.controls`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from padpos.names import RELIABILITY_METRICS
from padpos.stats import bool_column, first_seen_rank, spearman_rho, summarize

RELIABILITY_RUN_COLUMNS = (
    "family", "network", "images", "truth", "source", "seed", "dose", "metric", "value", "detects",
)  # fmt: skip
RELIABILITY_FAMILIES = ("control", "coordconv", "backbone", "calibration")


def _reliability_runs(runs: pd.DataFrame) -> pd.DataFrame:
    missing = sorted(set(RELIABILITY_RUN_COLUMNS) - set(runs))
    if missing:
        raise ValueError(f"reliability results lack the column(s) {missing}")
    unknown = sorted(set(runs["metric"]) - set(RELIABILITY_METRICS))
    if unknown:
        raise ValueError(
            f"reliability results hold unknown metric(s) {unknown}; known: {list(RELIABILITY_METRICS)}"
        )
    return runs.assign(detects=bool_column(runs["detects"]))


def _reliability_networks(runs: pd.DataFrame) -> pd.Series:
    """The network name, prefixed by its arch when the backbones have several archs."""
    names = runs["network"].astype(str)
    if "arch" in runs and runs["arch"].dropna().nunique() > 1:
        has_arch = runs["arch"].notna()
        names = names.where(~has_arch, runs["arch"].astype(str) + "/" + names)
    return names


def table_metric_reliability(runs: pd.DataFrame) -> pd.DataFrame:
    """``network, images, truth, source, metric, by_construction, value, std, n, ci95,
    n_failed``: each metric's
    mean (``value``) over seeds per network and image set, every network but the
    calibration. Rows: control, CoordConv, backbones (in the order they come: config
    order, initialisation before trained), metrics in ``padpos.names.RELIABILITY_METRICS`` order."""
    runs = _reliability_runs(runs)
    runs = runs[runs["family"] != "calibration"].copy()
    runs["network"] = _reliability_networks(runs)
    families = first_seen_rank(RELIABILITY_FAMILIES)
    by_family = runs.assign(_f=runs["family"].map(families)).sort_values("_f", kind="stable")
    ranks = {"network": first_seen_rank(by_family["network"]), "images": first_seen_rank(runs["images"]),
             "metric": first_seen_rank(RELIABILITY_METRICS)}  # fmt: skip
    runs = runs.sort_values(["network", "images", "metric"], kind="stable",
                            key=lambda c: c.map(ranks[c.name]))  # fmt: skip
    runs["by_construction"] = runs["by_construction"].fillna("") if "by_construction" in runs else ""
    out = summarize(runs, ["network", "images", "truth", "source", "metric", "by_construction"], "value")
    return out.rename(columns={"mean": "value"})


def table_metric_calibration(runs: pd.DataFrame) -> pd.DataFrame:
    """``metric, dose, value, seed`` (+ ``std, n, ci95, n_failed``: one run per row, so
    n = 1 and no spread): every calibration run."""
    runs = _reliability_runs(runs)
    cal = runs[runs["family"] == "calibration"]
    if cal.empty:
        raise ValueError("no calibration runs in the reliability results")
    metric_rank = first_seen_rank(RELIABILITY_METRICS)
    cal = cal.sort_values(["metric", "dose", "seed"], kind="stable",
                          key=lambda c: c.map(metric_rank) if c.name == "metric" else c)  # fmt: skip
    out = summarize(cal, ["metric", "dose", "seed"], "value").rename(columns={"mean": "value"})
    return out[["metric", "dose", "value", "seed", "std", "n", "ci95", "n_failed"]]


# the calibrated detection test: one-sided, at this nominal false-positive rate for every metric
CALIBRATED_ALPHA = 0.05


def calibrated_threshold(null: np.ndarray, alpha: float = CALIBRATED_ALPHA) -> float:
    """The upper (1 - alpha) prediction bound of a new null value from the metric's own
    null values (the padding-free control's seeds): mean + t(1 - alpha, n - 1) s sqrt(1 +
    1/n). A value above it is "detected" at a nominal false-positive rate alpha, the same
    for every metric. A null that is constant (PPP's: exactly -inf dB / 0 on every seed,
    by construction) gives its value; fewer than two null values give NaN."""
    from scipy import stats

    null = np.asarray(null, dtype=float)
    if len(null) < 2:
        return float("nan")
    if np.all(null == null[0]):
        return float(null[0])
    mean, std = float(null.mean()), float(null.std(ddof=1))
    return mean + float(stats.t.ppf(1 - alpha, len(null) - 1)) * std * float(np.sqrt(1 + 1 / len(null)))


def _loo_false_positive_rate(null: np.ndarray) -> float:
    """Share of null values above the threshold calibrated on the other null values."""
    null = np.asarray(null, dtype=float)
    if len(null) < 3:
        return float("nan")
    hits = [null[i] > calibrated_threshold(np.delete(null, i)) for i in range(len(null))]
    return float(np.mean(hits))


def table_metric_reliability_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per metric: the Spearman correlation of the metric with the dose over seeds
    (``spearman_mean, spearman_std, n, spearman_ci95, n_failed``, and ``spearman_min``:
    1 = the doses ranked correctly on every seed); ``null_value`` (mean at dose 0:
    the control on the calibration's images); ``seed_std`` (std across seeds,
    averaged over the doses > 0); with the metric's own nominal rule (``detects``):
    ``false_positive_rate`` / ``n_control`` (share of the control runs, every image set,
    that it flags) and ``true_positive_rate`` / ``n_positive`` (share of the trained padded
    backbones it flags); with the calibrated test (:func:`calibrated_threshold`: every
    metric at the same nominal false-positive rate, calibrated on its own null, the
    control's seeds on the backbones' images): ``n_null``, ``calibrated_threshold``,
    ``calibrated_fpr`` (leave-one-out on the null), ``n_positive_detected`` and
    ``calibrated_tpr`` on the trained padded backbones, ``coordconv_detected`` (share of
    CoordConv runs above it: position from coordinates, not padding)."""
    runs = _reliability_runs(runs)
    rows = []
    for metric in RELIABILITY_METRICS:
        r = runs[runs["metric"] == metric]
        cal = r[r["family"] == "calibration"]
        spearman = pd.DataFrame({"metric": metric, "rho": [spearman_rho(g["dose"], g["value"])
                                                           for _, g in cal.groupby("seed")]})  # fmt: skip
        if spearman.empty:
            spearman = pd.DataFrame({"metric": [metric], "rho": [np.nan]})
        row = summarize(spearman, ["metric"], "rho", prefix="spearman").iloc[0].to_dict()
        spread = cal[cal["dose"] > 0].groupby("dose")["value"].std(ddof=1)
        control = r[r["family"] == "control"]
        positive = r[(r["family"] == "backbone") & r["network"].astype(str).str.endswith("_trained")]
        backbone_images = list(dict.fromkeys(positive["images"])) or list(dict.fromkeys(r["images"]))[:1]
        null = control.loc[control["images"].isin(backbone_images), "value"].to_numpy(float)
        threshold = calibrated_threshold(null)
        detected = positive["value"].to_numpy(float) > threshold
        coordconv = r[r["family"] == "coordconv"]["value"].to_numpy(float)
        row.update({
            "spearman_min": float(spearman["rho"].min()),
            "null_value": float(cal.loc[cal["dose"] == 0, "value"].mean()) if len(cal) else np.nan,
            "seed_std": float(spread.mean()) if len(spread) else np.nan,
            "false_positive_rate": float(control["detects"].mean()) if len(control) else np.nan,
            "n_control": int(len(control)),
            "true_positive_rate": float(positive["detects"].mean()) if len(positive) else np.nan,
            "n_positive": int(len(positive)),
            "n_null": int(len(null)),
            "calibrated_threshold": threshold,
            "calibrated_fpr": _loo_false_positive_rate(null),
            "n_positive_detected": int(detected.sum()),
            "calibrated_tpr": float(detected.mean()) if len(positive) and not np.isnan(threshold) else np.nan,
            "coordconv_detected": float((coordconv > threshold).mean()) if len(coordconv) else np.nan,
        })  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def table_metric_comparison(runs: pd.DataFrame) -> pd.DataFrame:
    """The behavioural comparison (docs/protocols.md section 6c):
    :func:`padpos.stages.reliability.comparison.comparison_table`."""
    from padpos.stages.reliability.comparison import comparison_table

    return comparison_table(runs)


def table_metric_behaviour(runs: pd.DataFrame) -> pd.DataFrame:
    """What the box nets do and what each metric reads on them, per regime:
    :func:`padpos.stages.reliability.comparison.behaviour_table`."""
    from padpos.stages.reliability.comparison import behaviour_table

    return behaviour_table(runs)
