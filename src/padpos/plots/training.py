"""figures/training.png: held-out accuracy per epoch, one line per padding scheme."""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt

from padpos.plots.style import apply_style, order_paddings, padding_palette, save_figure
from padpos.tables import read_runs


def plot_training(metrics, title: str = ""):
    """Mean held-out accuracy over seeds per epoch; the band spans min..max over seeds."""
    apply_style()
    archs = list(dict.fromkeys(metrics["arch"]))
    fig, axes = plt.subplots(1, len(archs), figsize=(5.5 * len(archs), 4), squeeze=False)
    palette = padding_palette(metrics["padding"].unique())
    n_seeds = metrics.groupby(["arch", "padding"])["seed"].nunique().max()
    for ax, arch in zip(axes[0], archs):
        sub = metrics[metrics["arch"] == arch]
        for padding in order_paddings(sub["padding"].unique()):
            g = sub[sub["padding"] == padding].groupby("epoch")["test_acc"]
            stats = g.agg(["mean", "min", "max"])
            ax.plot(stats.index, stats["mean"], marker="o", ms=3, label=padding, color=palette[padding])
            ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.2, color=palette[padding])
        ax.set_xlabel("epoch (0 = initialisation)")
        ax.set_ylabel("held-out accuracy (%)")
        ax.set_title(arch)
        ax.set_ylim(0, 100)
    axes[0][-1].legend(title="padding", loc="lower right", fontsize=8)
    fig.suptitle(
        f"Training: held-out accuracy per epoch (band = min..max over {n_seeds} seeds)\n{title}"
    )
    fig.tight_layout()
    return fig


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics", nargs="+", required=True, help="per-run metrics.csv files")
    p.add_argument("--title", default="", help="what the study is (shown in the title)")
    p.add_argument("--output", required=True, help="figure path (.png or .pdf)")


def _run(args: argparse.Namespace) -> None:
    fig = plot_training(read_runs(args.metrics), args.title)
    save_figure(fig, args.output)


from padpos.cli import Command  # noqa: E402

CLI = {"plot-training": Command(_configure, _run, "held-out accuracy per epoch per padding")}
