"""Boundary-effect figures ([ISL21], docs/protocols.md 5): canvas_location.png and
border_distance.png, drawn from the per-run rows of :mod:`padpos.stages.canvas.boundary`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from padpos.names import CANVAS_COLOURS as COLOURS
from padpos.names import CANVAS_RINGS as RINGS
from padpos.plotting import apply_style, main_arch_rows, order_paddings, padding_palette, spread_label
from padpos.stats import failed_mask

RING_COLOURS = {"corner": "#b2182b", "edge": "#ef8a62", "interior": "#67a9cf"}


def _ordered(values, order) -> list:
    present = list(dict.fromkeys(values))
    return [v for v in order if v in present] + [v for v in present if v not in order]


def plot_canvas_location(runs: pd.DataFrame, title: str = ""):
    """Top: per-cell accuracy heat maps (mean over seeds), one row per canvas colour,
    one column per padding. Bottom: accuracy per ring (corner / edge / interior), one
    panel per canvas colour; bars = mean over seeds, whiskers = std (none for 1 seed),
    dots = seeds. Dashed: chance (1 / k^2)."""
    apply_style()
    arch = list(dict.fromkeys(runs["arch"]))
    runs, title = main_arch_rows(runs, title)  # the first arch and the padding-free arm
    k = int(runs["grid"].iloc[0]) if "grid" in runs.columns else int(round(np.sqrt(runs["cell"].max() + 1)))
    chance = 100.0 / (k * k)
    paddings = order_paddings(runs["padding"].unique())
    colours = _ordered(runs["canvas"], COLOURS)
    rings = _ordered(runs["ring"], RINGS)
    n_seeds = int(runs.groupby(["padding", "canvas"])["seed"].nunique().max())
    ncols, nrows = len(paddings), len(colours)
    fig = plt.figure(figsize=(max(8.0, 1.7 * ncols + 1.5), 1.75 * nrows + 3.6))
    grid = fig.add_gridspec(nrows + 1, max(ncols, len(colours)), height_ratios=[1] * nrows + [1.9])
    cells = runs.groupby(["canvas", "padding", "cell"])["accuracy"].mean()
    image = None
    for i, colour in enumerate(colours):
        for j, padding in enumerate(paddings):
            ax = fig.add_subplot(grid[i, j])
            acc = np.full(k * k, np.nan)
            for cell in range(k * k):
                acc[cell] = cells.get((colour, padding, cell), np.nan)
            image = ax.imshow(acc.reshape(k, k), vmin=0, vmax=100, cmap="viridis")
            for cell, value in enumerate(acc):
                r, c = divmod(cell, k)
                ax.text(c, r, f"{value:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if value < 60 else "black")  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(padding, fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{colour} canvas", fontsize=8)
    if image is not None:
        cax = fig.add_axes([0.93, 0.45, 0.012, 0.4])
        fig.colorbar(image, cax=cax, label="cell accuracy (%)")
    # ring bars, one panel per canvas colour
    per_run = runs.groupby(["padding", "seed", "canvas", "ring"])["accuracy"].mean().reset_index()
    span = max(ncols, len(colours)) // len(colours)
    width = 0.8 / len(rings)
    rng = np.random.default_rng(0)  # dot jitter only
    for i, colour in enumerate(colours):
        ax = fig.add_subplot(grid[nrows, i * span : (i + 1) * span])
        sub = per_run[per_run["canvas"] == colour]
        for r, ring in enumerate(rings):
            x = np.arange(len(paddings)) + (r - (len(rings) - 1) / 2) * width
            stats = sub[sub["ring"] == ring].groupby("padding")["accuracy"].agg(["mean", "std"])
            stats = stats.reindex(paddings)
            ax.bar(x, stats["mean"], width, color=RING_COLOURS.get(ring, "grey"), label=ring,
                   yerr=stats["std"] if n_seeds > 1 else None, capsize=2)  # fmt: skip
            for xi, padding in zip(x, paddings):
                vals = sub[(sub["ring"] == ring) & (sub["padding"] == padding)]["accuracy"].to_numpy()
                ax.scatter(xi + rng.uniform(-0.05, 0.05, len(vals)), vals, s=6, color="black",
                           zorder=3, linewidths=0)  # fmt: skip
        ax.axhline(chance, color="grey", ls="--", lw=1)
        ax.set_xticks(np.arange(len(paddings)), paddings, rotation=35, fontsize=8)
        ax.set_ylim(0, 104)
        ax.set_title(f"{colour} canvas", fontsize=9)
        if i == 0:
            ax.set_ylabel("accuracy per ring (%)")
            handles, labels = ax.get_legend_handles_labels()
            fig.legend(handles, labels, title="cells", loc="lower center", ncol=len(rings),
                       fontsize=7, title_fontsize=7, frameon=False)  # fmt: skip
    epoch = str(runs["epoch_reported"].iloc[0]) if "epoch_reported" in runs.columns else "final"
    fig.suptitle(
        f"Canvas location test [ISL21]: which of {k} x {k} cells holds the image? ({arch[0]}, "
        f"global average pooling, {epoch} epoch)\n{title} | heat maps: mean per cell, "
        f"{spread_label(n_seeds, 'bars: mean +- std over {n} seeds')}; chance {chance:.0f} %",
        fontsize=9,
    )
    fig.subplots_adjust(left=0.06, right=0.91, top=0.9, bottom=0.16, hspace=0.35, wspace=0.25)
    return fig


def plot_border_distance(runs: pd.DataFrame, title: str = ""):
    """Held-out accuracy versus the object's distance to the nearest image border, one
    line per padding (mean over seeds; band = min..max, none for 1 seed); one panel per
    arch. Runs flagged ``failed`` are drawn dotted and left out of the mean."""
    apply_style()
    archs = list(dict.fromkeys(runs["arch"]))
    paddings = order_paddings(runs["padding"].unique())
    palette = padding_palette(paddings)
    failed = failed_mask(runs)
    ok = runs[~failed]
    n_seeds = int(ok.groupby(["arch", "padding"])["seed"].nunique().max()) if len(ok) else 0
    fig, axes = plt.subplots(1, len(archs), figsize=(5.6 * len(archs), 4.2), squeeze=False)
    for ax, arch in zip(axes[0], archs):
        for padding in paddings:
            sub = ok[(ok["arch"] == arch) & (ok["padding"] == padding)]
            if not sub.empty:
                stats = sub.groupby("distance_px")["accuracy"].agg(["mean", "min", "max", "count"])
                ax.plot(stats.index, stats["mean"], marker="o", ms=3.5, label=padding,
                        color=palette[padding])  # fmt: skip
                if stats["count"].max() > 1:
                    # min..max over seeds, as training.png: a +-std band of 2 seeds ran past 100 %
                    ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.15,
                                    color=palette[padding])  # fmt: skip
            bad = runs[failed & (runs["arch"] == arch) & (runs["padding"] == padding)]
            for _, run in bad.groupby("seed"):
                ax.plot(run["distance_px"], run["accuracy"], ls=":", lw=1, color=palette[padding],
                        label=f"{padding} (failed run)")  # fmt: skip
        ax.set_xlabel("gap between the object and the nearest image border (px)")
        ax.set_ylabel("held-out accuracy (%)")
        method = ", ".join(dict.fromkeys(runs["method"]))
        ax.set_title(f"{arch} ({method})", fontsize=9)
    axes[0][-1].legend(title="padding", fontsize=7, loc="lower right")
    fig.suptitle(
        "Boundary effect on semantics [ISL21]: classification accuracy versus distance to "
        f"the border\n{title} | {spread_label(n_seeds, 'line: mean, band: min..max over {n} seeds')}",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
