"""Figure of the Red-Green test: figures/<study>/fconv_redgreen.png."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from padpos.names import REDGREEN_ORIGIN
from padpos.names import REDGREEN_VARIANTS as VARIANTS
from padpos.names import conv_type
from padpos.plotting import apply_style, spread_label
from padpos.stats import failed_mask

TEST_SET_COLOURS = {"similar": "#3b6ea5", "dissimilar": "#e08a2c"}
CHANCE = 50.0


def _variant_order(variants) -> list:
    return [v for v in VARIANTS if v in set(variants)] + sorted(set(variants) - set(VARIANTS))


def _variant_label(variant: str) -> str:
    if variant not in VARIANTS:
        return variant
    scheme, pad = VARIANTS[variant]
    kind = REDGREEN_ORIGIN.get(variant, conv_type(variant))
    return f"{variant}\n{kind}\npad {pad}"  # three lines: long kinds would overlap


def _passed(runs: pd.DataFrame) -> pd.Series:
    """True for the rows of runs that were not flagged ``failed`` (all when no such column)."""
    return ~failed_mask(runs)


def plot_redgreen(runs: pd.DataFrame, scale: str = ""):
    """Accuracy (%) per conv type on the similar and the dissimilar test set:
    bars = mean over the seeds that learned the task, whiskers = std (none for one
    seed), dots = single seeds; failed seeds (``failed``) are red crosses, left out
    of the bars."""
    apply_style()
    variants = _variant_order(runs["padding"].unique())
    fig, ax = plt.subplots(figsize=(max(9.0, 1.15 * len(variants) + 1.5), 4.6))
    width = 0.38
    rng = np.random.default_rng(0)  # dot jitter only
    ok = _passed(runs)
    for j, test_set in enumerate(("similar", "dissimilar")):
        sub = runs[(runs["test_set"] == test_set) & ok]
        stats = sub.groupby("padding")["accuracy"].agg(["mean", "std", "count"]).reindex(variants)
        x = np.arange(len(variants)) + (j - 0.5) * width
        colour = TEST_SET_COLOURS[test_set]
        # one seed: std is NaN and no whisker is drawn (never a zero error bar)
        ax.bar(x, stats["mean"], width, yerr=stats["std"].where(stats["count"] > 1).to_numpy(float),
               color=colour, alpha=0.85, capsize=3, label=f"{test_set} test set",
               edgecolor="white")  # fmt: skip
        bad = runs[(runs["test_set"] == test_set) & ~ok]
        for xi, variant in zip(x, variants):
            acc = sub.loc[sub["padding"] == variant, "accuracy"].to_numpy()
            ax.scatter(xi + rng.uniform(-0.08, 0.08, len(acc)), acc, s=7, color="black",
                       alpha=0.55, zorder=3, linewidths=0)  # fmt: skip
            failed = bad.loc[bad["padding"] == variant, "accuracy"].to_numpy()
            ax.scatter(np.full(len(failed), xi), failed, s=22, marker="x", color="#c0392b",
                       zorder=4, label="failed seed (excluded)" if failed.size and not j else None)  # fmt: skip
            n = int(np.nan_to_num(stats.loc[variant, "count"]))  # NaN: every seed failed
            if j == 0 and n <= 1:
                ax.text(xi + width / 2, 2, f"{n} seed", ha="center", fontsize=7)
    ax.axhline(CHANCE, color="grey", ls="--", lw=1, label="chance")
    ax.set_xticks(np.arange(len(variants)), [_variant_label(v) for v in variants], fontsize=8)
    ax.set_ylim(0, 104)
    ax.set_ylabel("test accuracy (%)")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), loc="upper center", bbox_to_anchor=(0.5, -0.2),
              ncol=4, frameon=False)  # fmt: skip
    n_seeds = runs.groupby("padding")["seed"].nunique().max()
    n_failed = runs[~ok].groupby(["padding", "seed"]).ngroups
    spread = "bars: " + spread_label(n_seeds, "mean over {n} seeds, whiskers: std")
    if n_failed:
        spread += f", {n_failed} failed seed(s) excluded (x)"
    fig.suptitle(
        "Red-Green test [KAY20]: does the net read the boxes' order or their height?\n"
        f"{scale} | {spread}, dots: single seeds",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
