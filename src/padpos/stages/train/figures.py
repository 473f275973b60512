"""figures/<study>/training.png: held-out accuracy per epoch, one line per padding scheme."""

from __future__ import annotations

import matplotlib.pyplot as plt

from padpos.plotting import apply_style, order_paddings, padding_palette, spread_label


def _failed_runs(metrics) -> set[tuple]:
    """(arch, padding, seed) of the runs flagged ``failed`` (none when the column is absent)."""
    from padpos.stats import failed_mask

    flagged = metrics[failed_mask(metrics)]
    return set(map(tuple, flagged[["arch", "padding", "seed"]].drop_duplicates().values))


def plot_training(metrics, title: str = ""):
    """Mean held-out accuracy over the seeds that passed the quality floor, per epoch;
    the band spans min..max over those seeds (no band for one seed). A failed run
    (``failed`` column) is left out of the mean and drawn alone, dashed, marked x."""
    apply_style()
    archs = list(dict.fromkeys(metrics["arch"]))
    fig, axes = plt.subplots(1, len(archs), figsize=(5.5 * len(archs), 4), squeeze=False)
    palette = padding_palette(metrics["padding"].unique())
    failed = _failed_runs(metrics)
    n_seeds = metrics.groupby(["arch", "padding"])["seed"].nunique().max()
    for ax, arch in zip(axes[0], archs):
        sub = metrics[metrics["arch"] == arch]
        for padding in order_paddings(sub["padding"].unique()):
            runs = sub[sub["padding"] == padding]
            bad = runs["seed"].map(lambda s: (arch, padding, s) in failed)
            ok = runs[~bad]
            if len(ok):
                stats = ok.groupby("epoch")["test_acc"].agg(["mean", "min", "max"])
                n_ok = ok["seed"].nunique()
                ax.plot(stats.index, stats["mean"], marker="o", ms=3, color=palette[padding],
                        label=padding if n_ok == n_seeds else f"{padding} (n={n_ok})")
                if n_ok > 1:
                    ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.2,
                                    color=palette[padding])
            for seed, run in runs[bad].groupby("seed"):
                run = run.sort_values("epoch")
                ax.plot(run["epoch"], run["test_acc"], ls="--", marker="x", ms=4, lw=1,
                        color=palette[padding], label=f"{padding} seed {seed}: FAILED (excluded)")
        ax.set_xlabel("epoch (0 = initialisation)")
        ax.set_ylabel("held-out accuracy (%)")
        ax.set_title(arch)
        ax.set_ylim(0, 100)
    axes[0][-1].legend(title="padding", loc="lower right", fontsize=8)
    spread = spread_label(n_seeds, "band = min..max over {n} seeds")
    if failed:
        spread += f"; {len(failed)} failed run(s) dashed, excluded"
    fig.suptitle(f"Training: held-out accuracy per epoch ({spread})\n{title}")
    fig.tight_layout()
    return fig
