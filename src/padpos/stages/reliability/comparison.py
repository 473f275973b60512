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
from padpos.stats import bool_column

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


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a positive's value > a negative's), ties counted half (Mann-Whitney U / n1 n2);
    -inf is a value like any other. NaN when either side is empty."""
    positive, negative = np.asarray(positive, float), np.asarray(negative, float)
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    ranks = stats.rankdata(np.concatenate([positive, negative]))
    n1, n2 = len(positive), len(negative)
    return float((ranks[:n1].sum() - n1 * (n1 + 1) / 2) / (n1 * n2))


def spearman(values: np.ndarray, gap: np.ndarray) -> float:
    """Spearman's rho; NaN where either side is constant (no ranking to agree with).
    -inf ranks lowest."""
    values, gap = np.asarray(values, float), np.asarray(gap, float)
    if len(values) < 3 or np.all(values == values[0]) or np.all(gap == gap[0]):
        return float("nan")
    return float(stats.spearmanr(stats.rankdata(values), gap).statistic)


# statistic -> (regimes it reads, function of {regime: net-by-metric frame} -> metric -> value, higher is better)
def _separation(nets: dict[str, pd.DataFrame], metric: str) -> float:
    return auc(nets["uses"][metric].to_numpy(), nets["ignores"][metric].to_numpy())


def _gap_rho(nets: dict[str, pd.DataFrame], metric: str) -> float:
    padded = pd.concat([nets["uses"], nets["ignores"]])
    return spearman(padded[metric].to_numpy(), padded["gap"].to_numpy())


def _rate(regime: str) -> Callable[[dict, str], float]:
    def rate(nets: dict[str, pd.DataFrame], metric: str) -> float:
        flags = nets[regime][f"{metric}__detects"].to_numpy(float)
        return float(flags.mean()) if len(flags) else float("nan")

    return rate


STATISTICS: dict[str, tuple[tuple[str, ...], Callable, bool]] = {
    "separation": (("uses", "ignores"), _separation, True),
    "gap_rho": (("uses", "ignores"), _gap_rho, True),
    "fpr_content_only": (("content_only",), _rate("content_only"), False),
    "fpr_boundary_only": (("boundary_only",), _rate("boundary_only"), False),
}


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


def _ppp_minus_best(nets: dict, fn: Callable, higher: bool, metrics) -> tuple[float, str]:
    others = {m: fn(nets, m) for m in OTHERS if m in metrics}
    others = {m: v for m, v in others.items() if np.isfinite(v)}
    if not others:
        return float("nan"), ""
    best = (max if higher else min)(others, key=others.get)
    return fn(nets, PPP) - others[best], best


def _resample(nets: dict[str, pd.DataFrame], rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    return {r: df.iloc[rng.integers(0, len(df), len(df))] for r, df in nets.items()}


def compare(nets: pd.DataFrame, draws: int = BOOTSTRAP_DRAWS, seed: int = BOOTSTRAP_SEED) -> list[dict]:
    """The rows of one probe image set (``nets``: :func:`net_table`'s rows of that set):
    every statistic per metric and as PPP minus the best other, with its bootstrap interval."""
    metrics = [m for m in RELIABILITY_METRICS if m in nets.columns]
    rows = []
    for statistic, (regimes, fn, higher) in STATISTICS.items():
        present = {r: nets[nets["regime"] == r] for r in regimes}
        n_failed = int(sum(df["failed"].sum() for df in present.values()))
        kept = {r: df[~df["failed"].astype(bool)] for r, df in present.items()}
        n = min(len(df) for df in kept.values())
        if n == 0:
            continue
        rng = np.random.default_rng(seed)
        samples = [_resample(kept, rng) for _ in range(draws)] if n >= 2 else []
        for metric in [*metrics, "ppp_minus_best"]:
            if metric == "ppp_minus_best":
                if PPP not in metrics:
                    continue
                value, best = _ppp_minus_best(kept, fn, higher, metrics)
                draw = [_ppp_minus_best(s, fn, higher, metrics)[0] for s in samples]
            else:
                value, best = fn(kept, metric), ""
                draw = [fn(s, metric) for s in samples]
            draw = np.asarray(draw, float)
            draw = draw[np.isfinite(draw)]
            low, high = np.percentile(draw, [2.5, 97.5]) if len(draw) >= max(1, len(samples) // 2) else (np.nan,) * 2
            rows.append(dict(statistic=statistic, metric=metric, best_other=best, value=value,
                             ci_low=float(low), ci_high=float(high), n=n, n_failed=n_failed,
                             regimes=" vs ".join(regimes), note=NOTES.get(statistic, {}).get(metric, "")))  # fmt: skip
    return rows


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
    metric the mean value and the share its nominal rule flags."""
    nets = net_table(runs)
    metrics = [m for m in RELIABILITY_METRICS if m in nets.columns]
    out = []
    for (images, regime), g in nets.groupby(["images", "regime"], sort=False):
        kept = g[~g["failed"].astype(bool)]
        for metric in metrics:
            out.append(dict(images=images, regime=regime, metric=metric,
                            value=float(kept[metric].mean()) if len(kept) else np.nan,
                            detected=float(kept[f"{metric}__detects"].mean()) if len(kept) else np.nan,
                            gap=float(kept["gap"].mean()) if len(kept) else np.nan,
                            n=len(kept), n_failed=int(g["failed"].sum())))  # fmt: skip
    return pd.DataFrame(out)
