"""Canvas figures ([ISL21] location-dependent classification, docs/protocols.md 5):
canvas_location.png (per-cell heat maps of both tasks) and border_distance.png (accuracy
per ring = border distance in cells), drawn from the per-run rows of
:mod:`padpos.stages.canvas.nets`."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from padpos.names import CANVAS_COLOURS as COLOURS
from padpos.plotting import apply_style, main_arch_rows, order_paddings, padding_palette, spread_label
from padpos.stages.canvas.geometry import cell_ring

TASKS = ("location", "class")


def _ordered(values, order) -> list:
    present = list(dict.fromkeys(values))
    return [v for v in order if v in present] + [v for v in present if v not in order]


def _setting(runs: pd.DataFrame) -> tuple[int, int, int]:
    """(k, cell px, seeds) of the runs."""
    k = int(runs["grid"].iloc[0])
    cell = int(runs["cell_size"].iloc[0]) if "cell_size" in runs.columns else 0
    return k, cell, int(runs.groupby(["padding", "canvas"])["seed"].nunique().max())


def _undertrained(runs: pd.DataFrame) -> str:
    """A title line naming the nets that did not learn their task (``converged`` False:
    final training class accuracy below canvas.converged_train_acc): their maps and rings
    show no trained net's position read-out, and the scorecard reads them `undertrained`."""
    if "converged" not in runs.columns:
        return ""
    nets = runs.groupby(["arch", "padding", "canvas", "seed"])["converged"].all()
    if nets.all():
        return ""
    return (f"\nUNDERTRAINED: {int((~nets).sum())} of {len(nets)} nets did not learn their task "
            "(final training class accuracy below canvas.converged_train_acc): no gradient can be read here")


# a border ring within this many points of the innermost ring is labelled "no gradient"
# (below a quarter of one binomial SD of a ring on 64 test placements near 50 %)
NO_GRADIENT_POINTS = 1.5


def _gradient_label(acc: np.ndarray, rings: np.ndarray) -> str:
    """A panel's x label: border ring minus innermost ring (points, means over cells;
    ``rings``: each cell's ring), or "no gradient" when they are within
    NO_GRADIENT_POINTS of each other."""
    gap = float(np.nanmean(acc[rings == 0]) - np.nanmean(acc[rings == rings.max()]))
    if not np.isfinite(gap):
        return ""
    if abs(gap) < NO_GRADIENT_POINTS:
        return f"no gradient ({gap:+.1f})"
    return f"border - inner {gap:+.0f}"


def plot_canvas_location(runs: pd.DataFrame, title: str = ""):
    """Per-cell accuracy heat maps (mean over seeds): one row per task x canvas colour,
    one column per padding (the padding-free arm included); the colour scale of each
    row runs from the task's chance level to 100 %. Under each map: the border ring
    minus the innermost ring, or "no gradient"."""
    apply_style()
    arch = list(dict.fromkeys(runs["arch"]))[0]
    undertrained = _undertrained(runs)
    runs, title = main_arch_rows(runs, title)
    k, cell, n_seeds = _setting(runs)
    paddings = order_paddings(runs["padding"].unique())
    rows = [(t, c) for t in _ordered(runs["task"], TASKS) for c in _ordered(runs["canvas"], COLOURS)]
    ncols = len(paddings)
    title_in = 0.95 + (0.2 if undertrained else 0)  # room for the four- (or five-) line title
    height = 1.6 * len(rows) + 0.35 + title_in
    fig, axes = plt.subplots(len(rows), ncols, figsize=(max(6.0, 1.55 * ncols + 1.6), height), squeeze=False)
    fig.subplots_adjust(top=1 - title_in / height)
    means = runs.groupby(["task", "canvas", "padding", "cell"])["accuracy"].mean()
    rings = np.array([cell_ring(c, k) for c in range(k * k)])
    for i, (task, colour) in enumerate(rows):
        chance = float(runs.loc[runs["task"] == task, "chance"].iloc[0])
        image = None
        for j, padding in enumerate(paddings):
            ax = axes[i][j]
            acc = np.array([means.get((task, colour, padding, c), np.nan) for c in range(k * k)])
            image = ax.imshow(acc.reshape(k, k), vmin=chance, vmax=100, cmap="viridis")
            if np.isnan(acc).all():  # this arm ran on the first colour only (canvas.colour_arms)
                ax.text(0.5, 0.5, "not run", ha="center", va="center", fontsize=7, color="grey",
                        transform=ax.transAxes)  # fmt: skip
            else:
                ax.set_xlabel(_gradient_label(acc, rings), fontsize=6, labelpad=1)
                if k <= 8:  # cell values are legible up to 8 x 8
                    for c, value in enumerate(acc):
                        r, q = divmod(c, k)
                        ax.text(q, r, f"{value:.0f}", ha="center", va="center", fontsize=5,
                                color="white" if value < chance + 0.6 * (100 - chance) else "black")  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(padding, fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{task}\n{colour} canvas", fontsize=8)
        if image is not None:
            fig.colorbar(image, ax=list(axes[i]), fraction=0.02, pad=0.01, label="%")
    fig.suptitle(
        f"Location-dependent classification [ISL21]: an image in one of {k} x {k} cells of {cell} px;\n"
        f"one net per arm ({arch}, global average pooling) predicts the cell and the class, final epoch\n"
        f"{title}\nmean per cell over {spread_label(n_seeds, '{n} seeds')}; "
        f"scale: chance (location {100 / k**2:.1f} %) to 100 %{undertrained}",
        fontsize=8,
    )
    return fig


def plot_border_distance(runs: pd.DataFrame, title: str = ""):
    """Accuracy per ring (border distance in cells; gap = ring x cell px): one panel per
    task x canvas colour, one line per padding (each run's mean over the ring's cells,
    then the mean over seeds; band = min..max over seeds); dashed = chance."""
    apply_style()
    undertrained = _undertrained(runs)
    runs, title = main_arch_rows(runs, title)
    k, cell, n_seeds = _setting(runs)
    paddings = order_paddings(runs["padding"].unique())
    palette = padding_palette(paddings)
    panels = [(t, c) for t in _ordered(runs["task"], TASKS) for c in _ordered(runs["canvas"], COLOURS)]
    per_run = runs.groupby(["task", "canvas", "padding", "seed", "ring"])["accuracy"].mean().reset_index()
    ncols = len(_ordered(runs["canvas"], COLOURS))
    nrows = len(panels) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.4 * nrows), squeeze=False)
    for ax, (task, colour) in zip(axes.flat, panels):
        sub = per_run[(per_run["task"] == task) & (per_run["canvas"] == colour)]
        for padding in paddings:
            stats = sub[sub["padding"] == padding].groupby("ring")["accuracy"].agg(["mean", "min", "max", "count"])
            if stats.empty:
                continue
            ax.plot(stats.index, stats["mean"], marker="o", ms=3.5, color=palette[padding], label=padding)
            if stats["count"].max() > 1:
                ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.12, color=palette[padding])
        chance = float(runs.loc[runs["task"] == task, "chance"].iloc[0])
        ax.axhline(chance, color="grey", ls="--", lw=1)
        rings = sorted(sub["ring"].unique())
        ax.set_xticks(rings, [f"{r}\n{r * cell} px" for r in rings], fontsize=7)
        ax.set_ylim(0, 104)
        ax.set_title(f"{task}, {colour} canvas", fontsize=9)
        ax.set_xlabel("ring: border distance in cells (gap to the canvas border)", fontsize=8)
        ax.set_ylabel(f"{task} accuracy (%)", fontsize=8)
    labels = {}  # one legend for every panel's lines (the first panel may show fewer arms)
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labels.setdefault(label, handle)
    axes.flat[0].legend(labels.values(), labels.keys(), title="padding", fontsize=6, title_fontsize=7,
                        loc="best")  # fmt: skip
    fig.suptitle(
        f"Boundary effects [ISL21] on the canvas nets ({k} x {k} cells of {cell} px; every gap was "
        f"seen in training)\n{title} | {spread_label(n_seeds, 'line: mean, band: min..max over {n} seeds')}"
        f"{undertrained}",
        fontsize=9,
    )
    fig.tight_layout()
    return fig
