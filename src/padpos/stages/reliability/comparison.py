"""Statistics of the behavioural metric comparison (docs/protocols.md section 6c): per
metric and probe image set, its separation of the nets that use position from padding
from the padded nets that do not (AUC), its rank correlation with the behavioural gap
over the padded nets, and its nominal false-positive rate on the content-only and
boundary-only controls; and PPP's value minus the best other metric's. Intervals: a
paired bootstrap over nets (the nets of each regime resampled, the same resample for
every metric)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from padpos.names import RELIABILITY_METRICS
from padpos.stats import bool_column, ci95_halfwidth

PPP = "ppp_snr_db"  # the PPP statistic [LIN23] reports; the one the comparison rows read
OTHERS = ("posenet_spc_H", "posenet_spc_V", "posenet_spc_G", "location_accuracy")
BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 0

NOTES = {
    "fpr_boundary_only": {
        PPP: "by construction: PPP of a padding-free net with real context is exactly 0",
        "ppp_consistency": "by construction: PPP of a padding-free net with real context is exactly 0",
        "location_accuracy": "a location decoder is right to read the boundary: shown, not a positive",
    },
}


def auc(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """P(a positive's value > a negative's), ties counted half (Mann-Whitney U / n1 n2),
    along the second-last axis (``(..., n, k)`` -> ``(..., k)``); -inf is a value like
    any other. NaN when either side is empty."""
    positive, negative = np.asarray(positive, float), np.asarray(negative, float)
    if positive.shape[-2] == 0 or negative.shape[-2] == 0:
        return np.full(np.broadcast_shapes(positive.shape[:-2], negative.shape[:-2]) + positive.shape[-1:], np.nan)
    p, n = positive[..., :, None, :], negative[..., None, :, :]
    return (p > n).mean(axis=(-3, -2)) + 0.5 * (p == n).mean(axis=(-3, -2))


def spearman(values: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """Spearman's rho of every column of ``values`` (``(..., n, k)``) with ``gap``
    (``(..., n)``): NaN where either side is constant (no ranking to agree with) or n < 3;
    -inf ranks lowest."""
    values, gap = np.asarray(values, float), np.asarray(gap, float)
    if values.shape[-2] < 3:
        return np.full(values.shape[:-2] + values.shape[-1:], np.nan)
    rv = stats.rankdata(values, axis=-2)
    rg = stats.rankdata(gap, axis=-1)[..., :, None]
    rv, rg = rv - rv.mean(axis=-2, keepdims=True), rg - rg.mean(axis=-2, keepdims=True)
    denom = np.sqrt((rv**2).sum(axis=-2) * (rg**2).sum(axis=-2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (rv * rg).sum(axis=-2) / np.where(denom > 0, denom, 1.0), np.nan)


# each statistic: the regimes it reads and a function of {regime: (..., nets, columns)}
# arrays -> (..., metrics); ``higher``: whether a larger value is the better metric
def _separation(nets: dict, cols: "_Columns") -> np.ndarray:
    return auc(nets["uses"][..., cols.values], nets["ignores"][..., cols.values])


def _gap_rho(nets: dict, cols: "_Columns") -> np.ndarray:
    padded = np.concatenate([nets["uses"], nets["ignores"]], axis=-2)
    return spearman(padded[..., cols.values], padded[..., cols.gap])


def _rate(regime: str) -> Callable:
    def rate(nets: dict, cols: "_Columns") -> np.ndarray:
        return nets[regime][..., cols.flags].mean(axis=-2)

    return rate


STATISTICS: dict[str, tuple[tuple[str, ...], Callable, bool]] = {
    "separation": (("uses", "ignores"), _separation, True),
    "gap_rho": (("uses", "ignores"), _gap_rho, True),
    "fpr_content_only": (("content_only",), _rate("content_only"), False),
    "fpr_boundary_only": (("boundary_only",), _rate("boundary_only"), False),
}


class _Columns:
    """Where the metrics' values, their flags and the gap sit in a net-by-column array."""

    def __init__(self, metrics: list[str]):
        self.metrics = metrics
        k = len(metrics)
        self.values, self.flags, self.gap = list(range(k)), list(range(k, 2 * k)), 2 * k


def net_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (images, regime, seed): every metric's value, ``<metric>__detects``,
    the gap and the failed flag."""
    runs = runs.assign(detects=bool_column(runs["detects"]), failed=bool_column(runs["failed"]))
    keys = ["images", "regime", "seed"]
    values = runs.pivot_table(index=keys, columns="metric", values="value", aggfunc="first")
    flags = runs.pivot_table(index=keys, columns="metric", values="detects", aggfunc="first")
    flags.columns = [f"{c}__detects" for c in flags.columns]
    facts = runs.groupby(keys)[["gap", "failed"]].first()
    return pd.concat([values, flags.astype(float), facts], axis=1).reset_index()


def ppp_minus_best(stat: np.ndarray, metrics: list[str], higher: bool) -> tuple[np.ndarray, np.ndarray]:
    """PPP's statistic minus the best other metric's (``stat``: ``(..., metrics)``), the
    best chosen separately in every row; and the best's index (-1 where none is finite)."""
    others = [metrics.index(m) for m in OTHERS if m in metrics]
    block = stat[..., others]
    fill = -np.inf if higher else np.inf
    block = np.where(np.isfinite(block), block, fill)
    pick = block.argmax(axis=-1) if higher else block.argmin(axis=-1)
    best = np.take_along_axis(block, pick[..., None], axis=-1)[..., 0]
    best = np.where(np.isfinite(best), best, np.nan)
    return stat[..., metrics.index(PPP)] - best, np.where(np.isfinite(best), np.asarray(others)[pick], -1)


def _interval(draws: np.ndarray, n_samples: int) -> tuple[float, float]:
    """The 2.5 / 97.5 % percentiles of the finite draws (NaN when fewer than half are)."""
    draws = draws[np.isfinite(draws)]
    if n_samples == 0 or len(draws) < n_samples // 2 or len(draws) == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)


def compare(nets: pd.DataFrame, draws: int = BOOTSTRAP_DRAWS, seed: int = BOOTSTRAP_SEED) -> list[dict]:
    """The rows of one probe image set (``nets``: :func:`net_table`'s rows of that set):
    every statistic per metric and as PPP minus the best other, with its bootstrap interval."""
    metrics = [m for m in RELIABILITY_METRICS if m in nets.columns]
    cols = _Columns(metrics)
    columns = [*metrics, *(f"{m}__detects" for m in metrics), "gap"]
    rows = []
    for statistic, (regimes, fn, higher) in STATISTICS.items():
        present = {r: nets[nets["regime"] == r] for r in regimes}
        n_failed = int(sum(df["failed"].astype(bool).sum() for df in present.values()))
        kept = {r: df.loc[~df["failed"].astype(bool), columns].to_numpy(float) for r, df in present.items()}
        n = min(len(a) for a in kept.values())
        if n == 0:
            continue
        rng = np.random.default_rng(seed)
        n_samples = draws if n >= 2 else 0
        samples = {r: a[rng.integers(0, len(a), (n_samples, len(a)))] for r, a in kept.items()}
        observed, resampled = fn(kept, cols), fn(samples, cols)
        for i, metric in enumerate(metrics):
            rows.append(_row(statistic, metric, "", observed[i], _interval(resampled[:, i], n_samples)))
        if PPP in metrics:
            value, best = ppp_minus_best(observed, metrics, higher)
            diff, _ = ppp_minus_best(resampled, metrics, higher)
            rows.append(_row(statistic, "ppp_minus_best", metrics[int(best)] if best >= 0 else "", value,
                             _interval(diff, n_samples)))  # fmt: skip
        for row in rows[-(len(metrics) + (PPP in metrics)) :]:
            row.update(n=n, n_failed=n_failed, regimes=" vs ".join(regimes),
                       note=NOTES.get(statistic, {}).get(row["metric"], ""))  # fmt: skip
    return rows


def _row(statistic: str, metric: str, best: str, value, interval: tuple[float, float]) -> dict:
    return dict(statistic=statistic, metric=metric, best_other=best, value=float(value),
                ci_low=interval[0], ci_high=interval[1])  # fmt: skip


def comparison_table(runs: pd.DataFrame) -> pd.DataFrame:
    """``images, statistic, metric, best_other, value, ci_low, ci_high, n, n_failed,
    regimes, note``: :func:`compare` per probe image set, in the runs' order."""
    missing = sorted({"regime", "seed", "gap", "failed", "images", "metric", "value", "detects"} - set(runs))
    if missing:
        raise ValueError(f"behavioural comparison runs lack the column(s) {missing}")
    nets = net_table(runs)
    rows = [{"images": images, **row} for images in dict.fromkeys(runs["images"])
            for row in compare(nets[nets["images"] == images])]  # fmt: skip
    return pd.DataFrame(rows, columns=["images", "statistic", "metric", "best_other", "value", "ci_low",
                                       "ci_high", "n", "n_failed", "regimes", "note"])  # fmt: skip


def behaviour_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per regime: the nets' behaviour (mean over seeds of validation, similar and
    dissimilar accuracy and the gap; ``n``, ``n_failed``), and per regime x image set x
    metric the mean value (its ``std`` and ``ci95`` over nets) and the share its nominal
    rule flags."""
    nets = net_table(runs)
    metrics = [m for m in RELIABILITY_METRICS if m in nets.columns]
    out = []
    for (images, regime), g in nets.groupby(["images", "regime"], sort=False):
        kept = g[~g["failed"].astype(bool)]
        for metric in metrics:
            # the spread over nets beside the mean (NaN for one net), as every summary table
            std = float(kept[metric].std(ddof=1)) if len(kept) > 1 else np.nan
            out.append(dict(images=images, regime=regime, metric=metric,
                            value=float(kept[metric].mean()) if len(kept) else np.nan,
                            std=std, ci95=ci95_halfwidth(std, len(kept)),
                            detected=float(kept[f"{metric}__detects"].mean()) if len(kept) else np.nan,
                            gap=float(kept["gap"].mean()) if len(kept) else np.nan,
                            n=len(kept), n_failed=int(g["failed"].sum())))  # fmt: skip
    return pd.DataFrame(out)
