"""PPP figures: heat maps (padding x depth), metrics per padding, and formation over training."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
import pandas as pd

from padpos.io import load_npz
from padpos.plotting import apply_style, main_arch_rows, order_paddings, padding_palette, spread_label

LABELS = {
    "ppp_snr_db": "PPP SNR (dB)",
    "ppp_consistency": "PPP consistency (0..1)",
    "ppp_reach_px": "PPP reach from border (px)",
}


# ---------------------------------------------------------------- heat maps
def read_maps(paths) -> pd.DataFrame:
    """One row per run x layer: arch, padding, seed, epoch, layer, depth, stride, map.

    ``map`` is the channel-RMS of PPP divided by the layer's image-feature std, so that
    maps of different nets and layers share one dimensionless scale (as the SNR does).
    """
    rows = []
    for path in paths:
        z = load_npz(path, "PPP heat maps")
        for i, layer in enumerate(z["layers"]):
            rows.append(
                {
                    "arch": str(z["arch"]),
                    "padding": str(z["padding"]),
                    "seed": int(z["seed"]),
                    "epoch": int(z["epoch"]),
                    "layer": str(layer),
                    "depth": i,
                    "stride": int(z[f"stride_{i}"]),
                    "map": z[f"heat_{i}"] / max(float(z[f"feature_std_{i}"]), 1e-12),
                }
            )
    if not rows:
        raise ValueError("no PPP heat maps given")
    return pd.DataFrame(rows)


def _mean_maps(maps: pd.DataFrame) -> dict:
    """(row label, layer) -> (mean map over seeds, stride, number of seeds)."""
    several_archs = maps["arch"].nunique() > 1
    out = {}
    for (arch, padding, layer), g in maps.groupby(["arch", "padding", "layer"], sort=False):
        label = f"{arch}\n{padding}" if several_archs else padding
        out[label, layer] = (np.mean(np.stack(g["map"].to_list()), axis=0), int(g["stride"].iloc[0]),
                             g["seed"].nunique())
    return out


MAP_RANGE = 1e-3  # log colour scale spans 60 dB below the column's peak


def plot_maps(maps: pd.DataFrame, title: str = ""):
    """Rows = padding schemes, columns = feature layers (shallow to deep); one logarithmic
    colour scale per column (shared by all schemes, so they compare directly, and log so
    that a weak pattern stays visible next to a strong one) with its colourbar."""
    apply_style()
    layers = list(dict.fromkeys(maps.sort_values("depth")["layer"]))
    order = {p: i for i, p in enumerate(order_paddings(maps["padding"].unique()))}
    maps = maps.sort_values(["arch", "padding"], key=lambda c: c.map(order) if c.name == "padding" else c)
    means = _mean_maps(maps)
    rows = list(dict.fromkeys(label for label, _ in means))
    fig, axes = plt.subplots(
        len(rows), len(layers), figsize=(2.3 * len(layers) + 0.8, 2.1 * len(rows) + 1.4),
        squeeze=False, constrained_layout=True,
    )
    n_seeds = max(n for _, _, n in means.values())
    for j, layer in enumerate(layers):
        vmax = max(float(means[r, layer][0].max()) for r in rows if (r, layer) in means) or 1.0
        norm = LogNorm(vmin=vmax * MAP_RANGE, vmax=vmax, clip=True)
        for i, row in enumerate(rows):
            ax = axes[i][j]
            if (row, layer) not in means:
                ax.set_axis_off()
                continue
            heat, stride, _ = means[row, layer]
            h, w = heat.shape
            im = ax.imshow(np.maximum(heat, vmax * MAP_RANGE), cmap="magma", norm=norm,
                           extent=(0, w * stride, h * stride, 0), interpolation="nearest")
            ax.grid(False)
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_title(f"{layer} (stride {stride})", fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{row}\ny (px)", fontsize=9)
            if i == len(rows) - 1:
                ax.set_xlabel("x (px)", fontsize=8)
        bar = fig.colorbar(im, ax=axes[:, j], location="bottom", shrink=0.9, aspect=18)
        bar.set_label("PPP RMS / feature std (log)", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    epoch = int(maps["epoch"].max())
    fig.suptitle(
        f"PPP heat maps: channel-RMS of the mean border contribution, epoch {epoch}, "
        f"mean of {n_seeds} seed(s)\n{title}",
        fontsize=10,
    )
    return fig


# ---------------------------------------------------------------- metrics per padding
def _dodge(n: int, width: float = 0.5) -> np.ndarray:
    return (np.arange(n) - (n - 1) / 2) * (width / max(n, 1))


def _metric_lines(ax, table: pd.DataFrame, metric: str, x_key: str, x_values, palette) -> None:
    """One line per padding of ``metric`` against ``x_key`` (error bars: std over seeds;
    none where the table has no std, i.e. one seed)."""
    paddings = order_paddings(table["padding"].unique())
    offsets = _dodge(len(paddings), 0.3 if x_key == "layer" else 0.25)
    pos = {v: i for i, v in enumerate(x_values)} if x_key == "layer" else None
    for off, padding in zip(offsets, paddings):
        sub = table[(table["padding"] == padding) & (table["metric"] == metric)]
        x = sub[x_key].map(pos).to_numpy(float) if pos else sub[x_key].to_numpy(float)
        ax.errorbar(x + off, sub["mean"], yerr=sub["std"].to_numpy(float), marker="o", ms=4, capsize=2.5,
                    lw=1.3, label=padding, color=palette[padding])
    if metric in ("ppp_consistency", "ppp_reach_px"):
        top = float((table.loc[table["metric"] == metric, "mean"]
                     + table.loc[table["metric"] == metric, "std"].fillna(0)).max())
        ax.set_ylim(0, 1.1 * top if top > 0 else 1.0)


def plot_by_padding(table: pd.DataFrame, title: str = ""):
    """ppp_snr_db and ppp_consistency per layer, one line per padding scheme."""
    apply_style()
    table, title = main_arch_rows(table, title)
    layers = list(dict.fromkeys(table["layer"]))
    palette = padding_palette(table["padding"].unique())
    metrics = ["ppp_snr_db", "ppp_consistency"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(11, 4.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        _metric_lines(ax, table, metric, "layer", layers, palette)
        ax.set_xticks(range(len(layers)), layers)
        ax.set_xlabel("feature layer (shallow \u2192 deep)")
        ax.set_ylabel(LABELS[metric])
        ax.set_title(LABELS[metric].split(" (")[0])
    n = int(table["n"].max())
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, title="padding", loc="center right", fontsize=8)
    fig.suptitle(f"PPP per padding scheme after training ({spread_label(n)})\n{title}",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.88, 1))
    return fig


def plot_formation(table: pd.DataFrame, title: str = ""):
    """Each PPP metric (rows) of each layer (columns) versus training epoch, per padding."""
    apply_style()
    table, title = main_arch_rows(table, title)
    layers = list(dict.fromkeys(table["layer"]))
    palette = padding_palette(table["padding"].unique())
    metrics = [m for m in LABELS if m in set(table["metric"])]
    epochs = sorted(table["epoch"].unique())
    fig, axes = plt.subplots(len(metrics), len(layers), figsize=(3.1 * len(layers), 2.6 * len(metrics) + 0.8),
                             squeeze=False, sharex=True)
    for i, metric in enumerate(metrics):
        for j, layer in enumerate(layers):
            ax = axes[i][j]
            _metric_lines(ax, table[table["layer"] == layer], metric, "epoch", epochs, palette)
            ax.set_xticks(epochs)
            if i == 0:
                ax.set_title(layer)
            if j == 0:
                ax.set_ylabel(LABELS[metric])
            if i == len(metrics) - 1:
                ax.set_xlabel("training epoch (0 = init.)")
    n = int(table["n"].max())
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, title="padding", loc="center right", fontsize=8)
    fig.suptitle(f"PPP formation during training ({spread_label(n)})\n{title}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    return fig
