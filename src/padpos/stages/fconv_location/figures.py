"""Figure of the location (quadrant) test: figures/<study>/fconv_location.png."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from padpos.names import LOCATION_INITS
from padpos.plotting import apply_style, order_paddings, padding_palette
from padpos.stats import failed_mask

CHANCE = 50.0


def plot_location(runs: pd.DataFrame, scale: str = ""):
    """Held-out accuracy (%) vs extra border B, one line per padding, one panel
    per initialisation; the band spans min..max over seeds."""
    apply_style()
    inits = [i for i in LOCATION_INITS if i in set(runs["init"])]
    borders = sorted(runs["border"].unique())
    pos = {b: i for i, b in enumerate(borders)}  # equally spaced: B grows geometrically
    paddings = order_paddings(runs["padding"].unique())
    palette = padding_palette(paddings)
    fig, axes = plt.subplots(1, len(inits), figsize=(5.2 * len(inits), 4.2), squeeze=False, sharey=True)
    for ax, init in zip(axes[0], inits):
        sub = runs[runs["init"] == init]
        ok = ~failed_mask(sub)
        for padding in paddings:
            g = sub[(sub["padding"] == padding) & ok].groupby("border")["accuracy"]
            stats = g.agg(["mean", "min", "max", "count"])
            bad = sub[(sub["padding"] == padding) & ~ok]
            if len(bad):
                ax.scatter([pos[b] for b in bad["border"]], bad["accuracy"], marker="x", s=30,
                           color=palette[padding], zorder=4, label="failed run (excluded)")  # fmt: skip
            if stats.empty:
                continue
            x = [pos[b] for b in stats.index]
            ax.plot(x, stats["mean"], marker="o", ms=4, label=padding, color=palette[padding])
            if (stats["count"] > 1).any():
                ax.fill_between(x, stats["min"], stats["max"], alpha=0.15, color=palette[padding])
        ax.axhline(CHANCE, color="grey", ls="--", lw=1)
        ax.set_xticks(range(len(borders)), [str(b) for b in borders])
        ax.set_xlabel("extra border B (pixels added around the 120 px canvas)")
        ax.set_title(init)
    lowest = runs.groupby(["padding", "init", "border"])["accuracy"].min().min()
    axes[0][0].set_ylim(min(40.0, lowest - 5.0), 102)
    axes[0][0].set_ylabel("held-out accuracy (%)  (50 = no position)")
    legend = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    fig.legend(legend.values(), legend.keys(), title="padding", loc="lower center",
               ncol=len(legend), bbox_to_anchor=(0.5, -0.02), frameon=False)  # fmt: skip
    n_seeds = runs.groupby(["padding", "init"])["seed"].nunique().max()
    seeds = "1 seed" if n_seeds == 1 else f"line: mean over {n_seeds} seeds, band: min..max"
    n_failed = int(failed_mask(runs).sum())
    if n_failed:
        seeds += f"; {n_failed} failed run(s) excluded (x)"
    fig.suptitle(
        "Location test [KAY20]: top-left vs bottom-right, ResNet-18 layout, global max pooling\n"
        f"{scale} | {seeds}",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
