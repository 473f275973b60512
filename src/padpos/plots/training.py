"""figures/<study>/training.png: held-out accuracy per epoch, one line per padding scheme."""

from __future__ import annotations

import matplotlib.pyplot as plt

from padpos.plots.style import apply_style, order_paddings, padding_palette


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
