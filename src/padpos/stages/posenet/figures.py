"""PosENet figures: SPC per padding and target (posenet.png, posenet_alone.png) and
example predictions next to the ground-truth maps (posenet_examples.png)."""

from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from padpos.io import load_npz
from padpos.plotting import apply_style, order_paddings, padding_palette, spread_label

# (no import of padpos.probes.readout: it pulls in torch, seconds per plotting job;
# target and input names come from the table, which lists them in canonical order)
INPUT_LABELS = {
    "natural": "held-out natural images",
    "black": "black image",
    "white": "white image",
    "noise": "Gaussian noise images",
}


def _schemes(table: pd.DataFrame, scheme_col: str) -> tuple[list, dict]:
    """Hue order and colours: the padding palette, or a ramp for readout paddings 0, 1, 2."""
    values = list(dict.fromkeys(table[scheme_col]))
    if scheme_col == "padding":
        order = order_paddings(values)
        return order, padding_palette(order)
    order = sorted(values)
    return order, dict(zip(order, sns.color_palette("crest", len(order))))


def _bars(ax, spc: pd.DataFrame, scheme_col: str, order: list, colours: dict, label_fmt: str) -> None:
    """Grouped bars: x = target, one bar per scheme (mean over seeds, error bar = std)."""
    targets = list(dict.fromkeys(spc["target"]))
    width = 0.8 / len(order)
    x = np.arange(len(targets))
    for i, scheme in enumerate(order):
        rows = spc[spc[scheme_col] == scheme].set_index("target").reindex(targets)
        xs = x + (i - (len(order) - 1) / 2) * width
        # an exact 0 (a position-free prediction in every seed) would be an invisible bar
        exact = ((rows["mean"] == 0) & (rows["std"].fillna(0) == 0)).to_numpy()
        ax.plot(xs[exact], np.zeros(exact.sum()), "o", ms=3.5, color=colours[scheme], zorder=3)
        ax.bar(
            xs,
            rows["mean"],
            width,
            yerr=rows["std"].to_numpy(float),  # NaN (one seed): no error bar
            capsize=2,
            color=colours[scheme],
            label=label_fmt.format(scheme),
            error_kw={"elinewidth": 0.8},
        )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, targets)
    ax.set_xlabel("position target")
    ax.set_ylabel("SPC (Spearman)")
    ax.set_ylim(-1.05, 1.05)


def plot_spc(table: pd.DataFrame, title: str = "", scheme_col: str = "padding"):
    """SPC per scheme and target: natural images on top, black / white / noise below.

    ``table`` is results/<study>/tables/posenet.csv (or posenet_alone.csv with
    ``scheme_col='readout_padding'``); one block of panels per arch if it has an arch column.
    """
    apply_style()
    spc = table[table["metric"] == "spc"]
    archs = list(dict.fromkeys(spc["arch"])) if "arch" in spc.columns else [None]
    order, colours = _schemes(spc, scheme_col)
    label_fmt = "{}" if scheme_col == "padding" else "readout padding {}"
    n = int(spc["n"].max())
    fig = plt.figure(figsize=(13, 7.5 * len(archs)))
    n_synthetic = max(1, spc.loc[spc["input"] != "natural", "input"].nunique())
    grid = fig.add_gridspec(2 * len(archs), n_synthetic, height_ratios=[1.3, 1] * len(archs))
    for a, arch in enumerate(archs):
        sub = spc if arch is None else spc[spc["arch"] == arch]
        prefix = "" if arch is None else f"{arch}: "
        top = fig.add_subplot(grid[2 * a, :])
        _bars(top, sub[sub["input"] == "natural"], scheme_col, order, colours, label_fmt)
        top.set_title(f"{prefix}{INPUT_LABELS['natural']}")
        top.legend(
            title="padding" if scheme_col == "padding" else None,
            ncol=min(len(order), 6),
            fontsize=8,
            loc="upper right",
        )
        synthetic = [i for i in dict.fromkeys(sub["input"]) if i != "natural"]
        for k, kind in enumerate(synthetic):
            ax = fig.add_subplot(grid[2 * a + 1, k], sharey=top)
            _bars(ax, sub[sub["input"] == kind], scheme_col, order, colours, label_fmt)
            ax.set_title(f"{prefix}{INPUT_LABELS.get(kind, kind)}")
            if k:
                ax.set_ylabel("")
    what = "backbone features" if scheme_col == "padding" else "raw RGB, readout's own zero padding"
    fig.suptitle(
        f"PosENet readout ({what}): SPC with the position targets\n"
        f"{title}\nbars: {spread_label(n, 'mean over {n} seeds, error bars = std')}; 0 = no position information, "
        "dot = exactly 0 in every seed (position-free prediction)"
    )
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- examples
def load_examples(path: str) -> dict:
    out = load_npz(path, "PosENet predictions")
    out["meta"] = json.loads(str(out["meta"]))
    return out


def plot_examples(runs: list[dict], title: str = "", example: int = 0):
    """Rows: ground truth, then one row per run (``load_examples`` dicts). Columns: the
    example image, the maps predicted from it, and the maps predicted from a black image."""
    apply_style()
    names = [str(n) for n in runs[0]["target_names"]]
    n_maps = 2 * len(names)
    fig, axes = plt.subplots(
        len(runs) + 1,
        n_maps + 2,
        figsize=(1.4 * (n_maps + 1) + 1.6, 1.45 * (len(runs) + 1) + 1.1),
        squeeze=False,
        gridspec_kw={"width_ratios": [1.1, 1] + [1] * n_maps},
        layout="constrained",
    )
    targets = runs[0]["targets"]
    rows = [("ground truth", targets, targets)] + [
        (_run_label(r["meta"]), r["pred_natural"][example], r["pred_black"][0]) for r in runs
    ]
    for i, (label, natural, black) in enumerate(rows):
        axes[i, 0].text(1.0, 0.5, label, ha="right", va="center", fontsize=9, transform=axes[i, 0].transAxes)
        for j, m in enumerate(list(natural) + list(black)):
            im = axes[i, j + 2].imshow(m, cmap="viridis", vmin=0, vmax=1)
            if i == 0:
                src = "image" if j < len(names) else "black"
                axes[i, j + 2].set_title(f"{names[j % len(names)]} ({src})", fontsize=9)
    axes[0, 1].imshow(np.transpose(runs[0]["images"][example], (1, 2, 0)))
    axes[0, 1].set_title("example image", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    for ax in list(axes[:, 0]) + list(axes[1:, 1]):
        ax.axis("off")
    fig.colorbar(im, ax=axes[:, -1].tolist(), shrink=0.9, label="target / prediction value")
    fig.suptitle(
        f"PosENet predictions of the frozen backbones (first seed), same colour scale as the targets\n"
        f"{title}\nleft block: from the example image; right block: from a black image (position from padding only)"
    )
    return fig


def _run_label(meta: dict) -> str:
    if "readout_padding" in meta:
        return f"alone, pad {meta['readout_padding']}"
    return f"{meta['padding']}\n({meta['arch']}, seed {meta['seed']})"
