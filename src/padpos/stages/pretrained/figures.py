"""Figures of the pretrained-model stage: an [ISL20] Table 1 style heat table, PosENet
SPC per input, every probe per tapped layer, and PPP heat maps. Rows are models x
padding (``native`` = as published; what-if schemes swapped in with the same weights)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import LogNorm

from padpos.io import load_npz
from padpos.names import POSENET_TARGETS
from padpos.plotting import apply_style, order_paddings, padding_palette, spread_label
from padpos.stages.pretrained.catalog import ALONE, NATIVE

INPUT_LABELS = {"natural": "held-out natural images", "black": "black image", "white": "white image",
                "noise": "Gaussian noise images"}  # fmt: skip
# [ISL20] Table 1, PASCAL-S, SPC of the H and G targets (the values the paper reports;
# its readout was trained on DUT-S, so they are a reference for the order of magnitude,
# not a number these images must reproduce). Keys: (model, padding) rows of this stage.
PAPER_TABLE1 = {
    (ALONE, NATIVE): ("PosENet", 0.012, -0.001),
    ("torchvision:vgg16:IMAGENET1K_V1", NATIVE): ("VGG16", 0.742, 0.814),
    ("torchvision:resnet152:IMAGENET1K_V1", NATIVE): ("ResNet152", 0.933, 0.936),
    # the paper's VGG16 without padding; here the pretrained VGG16 with valid convolutions
    ("torchvision:vgg16:IMAGENET1K_V1", "valid"): ("VGG16 w/o padding", 0.381, 0.359),
}
MAP_RANGE = 1e-3  # PPP maps: the log colour scale spans 60 dB below its peak


def row_label(model: str, padding: str) -> str:
    if model == ALONE:
        return "PosENet alone (raw RGB, pad 0)"
    return model if padding == NATIVE else f"{model}\nwhat-if {padding}"


def _rows(table: pd.DataFrame) -> list[tuple[str, str]]:
    """(model, padding) pairs in table order (PosENet alone first, native before what-ifs)."""
    return list(dict.fromkeys(zip(table["model"], table["padding"])))


def _cell(mean: float, std: float, n: int) -> str:
    if not np.isfinite(mean):
        return ""
    return f"{mean:.3f}" + (f"\n\u00b1{std:.3f}" if n > 1 and np.isfinite(std) else "")


def plot_table1(table: pd.DataFrame, title: str = ""):
    """[ISL20] Table 1 style: SPC and MAE of the multi-level readout (PosENet alone: the
    raw RGB) per model x padding (rows) and target (columns) on the held-out natural
    images; beside it the paper's PASCAL-S SPC for the rows it reports."""
    apply_style()
    sub = table[(table["input"] == "natural") & table["layer"].isin(["all", "rgb"])]
    rows = _rows(sub)
    targets = [t for t in POSENET_TARGETS if t in set(sub["target"])]
    paper = [PAPER_TABLE1.get(r) for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(3.2 + 1.05 * (2 * len(targets) + 2), 1.2 + 0.62 * len(rows)),
                             gridspec_kw={"width_ratios": [len(targets), len(targets), 2]}, squeeze=False)  # fmt: skip
    for ax, metric, cmap, (lo, hi) in zip(axes[0], ("spc", "mae"), ("RdYlGn", "viridis_r"), ((-1, 1), (0, 0.5))):
        m = sub[sub["metric"] == metric].set_index(["model", "padding", "target"])
        values = np.array([[m["mean"].get((*r, t), np.nan) for t in targets] for r in rows], float)
        text = [[_cell(m["mean"].get((*r, t), np.nan), m["std"].get((*r, t), np.nan), int(m["n"].get((*r, t), 0)))
                 for t in targets] for r in rows]  # fmt: skip
        sns.heatmap(values, ax=ax, cmap=cmap, vmin=lo, vmax=hi, annot=np.array(text, dtype=object), fmt="",
                    annot_kws={"fontsize": 8}, cbar=False, linewidths=0.5, linecolor="white",
                    xticklabels=targets, yticklabels=[row_label(*r) for r in rows] if metric == "spc" else False)  # fmt: skip
        ax.set_title(f"{metric.upper()} ({'higher' if metric == 'spc' else 'lower'} = more position)", fontsize=10)
        ax.set_xlabel("position target")
        ax.tick_params(axis="y", labelsize=8, rotation=0)
    ax = axes[0][2]
    ref = np.array([[p[1], p[2]] if p else [np.nan, np.nan] for p in paper], float)
    # each value with the paper's name of the row (cells of rows it does not report stay empty)
    notes = [[f"{v:.3f}\n{p[0]}" if p else "" for v in r] for r, p in zip(ref, paper)]
    sns.heatmap(ref, ax=ax, cmap="RdYlGn", vmin=-1, vmax=1, cbar=False, linewidths=0.5, linecolor="white",
                annot=np.array(notes, dtype=object), fmt="", annot_kws={"fontsize": 7}, xticklabels=["H", "G"],
                yticklabels=False)  # fmt: skip
    ax.set_title("[ISL20] Table 1\nPASCAL-S SPC", fontsize=9)
    n = int(sub["n"].max()) if len(sub) else 0
    spread = " \u00b1 std" if n > 1 else ""
    fig.suptitle(
        "Position information of pretrained models: PosENet readout of the frozen multi-level features "
        f"([ISL20] Table 1 style)\n{title}\ncells: mean over {n} readout seed(s){spread}; "
        "the paper's values are on PASCAL-S with a readout trained on DUT-S (not these images)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def _row_colours(rows) -> dict:
    palette = sns.color_palette("tab20", max(len(rows), 1))
    return {r: palette[i % len(palette)] for i, r in enumerate(rows)}


def plot_posenet(table: pd.DataFrame, title: str = ""):
    """SPC per target (x) of the multi-level readout of each model x padding (bars) on each
    input type (panels): natural images, then black, white and noise images, whose
    content carries no position (what is decoded there comes from the border)."""
    apply_style()
    sub = table[(table["metric"] == "spc") & table["layer"].isin(["all", "rgb"])]
    rows = _rows(sub)
    colours = _row_colours(rows)
    inputs = list(dict.fromkeys(sub["input"]))
    targets = [t for t in POSENET_TARGETS if t in set(sub["target"])]
    cols = min(2, len(inputs))
    grid_rows = -(-len(inputs) // cols)
    fig, axes = plt.subplots(grid_rows, cols, figsize=(max(5.5, 0.16 * len(rows) * len(targets) + 1.5) * cols,
                                                       3.0 * grid_rows + 1.0 + 0.18 * len(rows)),
                             squeeze=False, sharey=True, layout="constrained")  # fmt: skip
    width = 0.85 / max(len(rows), 1)
    x = np.arange(len(targets))
    for ax, kind in zip(axes.flat, inputs):
        d = sub[sub["input"] == kind].set_index(["model", "padding", "target"])
        for i, r in enumerate(rows):
            means = np.array([d["mean"].get((*r, t), np.nan) for t in targets], float)
            stds = np.array([d["std"].get((*r, t), np.nan) for t in targets], float)
            ax.bar(x + (i - (len(rows) - 1) / 2) * width, means, width, yerr=stds, capsize=1.5, color=colours[r],
                   label=row_label(*r).replace("\n", ", "), error_kw={"elinewidth": 0.7})  # fmt: skip
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(x, targets)
        ax.set_ylim(-1.05, 1.05)
        ax.set_ylabel("SPC")
        ax.set_xlabel("position target")
        ax.set_title(INPUT_LABELS.get(kind, kind))
    for ax in list(axes.flat)[len(inputs):]:
        ax.set_axis_off()
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(3, len(rows)), fontsize=7)
    n = int(sub["n"].max()) if len(sub) else 0
    fig.suptitle(f"PosENet on pretrained models (multi-level readout): SPC per input and target\n{title}\n"
                 f"bars: {spread_label(n, 'mean over {n} readout seeds, error bars = std')}", fontsize=9)  # fmt: skip
    return fig


# ---------------------------------------------------------------- per tapped layer
LAYER_PANELS = (
    ("posenet", "spc", "PosENet SPC, one tap alone\n(natural; H solid, G dashed)"),
    ("ppp", "ppp_snr_db", "PPP SNR (dB)"),
    ("ppp", "ppp_consistency", "PPP consistency (0..1)"),
    ("location", "location_accuracy", "location test accuracy (%)\n(chance 50)"),
)


def _padding_colours(paddings) -> dict:
    colours = padding_palette([p for p in paddings if p != NATIVE])
    colours[NATIVE] = (0.1, 0.1, 0.1)
    return colours


def plot_layers(tables: dict, title: str = ""):
    """Every probe per tapped layer (x, shallow to deep): rows = PosENet SPC of each tap alone,
    PPP SNR and consistency, location-test accuracy; columns = models; one line per padding
    (native = as published, black). PPP values whose real-context reference is approximate
    (the receptive field needs more context than the images have) are hollow markers."""
    apply_style()
    posenet = tables["posenet"][(tables["posenet"]["input"] == "natural")
                                & ~tables["posenet"]["layer"].isin(["all", "rgb"])]  # fmt: skip
    panels = [p for p in LAYER_PANELS if p[0] != "posenet" or len(posenet)]
    data = {"posenet": posenet, "ppp": tables["ppp"], "location": tables["location"]}
    models = [m for m in dict.fromkeys(tables["ppp"]["model"]) if m != ALONE]
    paddings = [NATIVE] + order_paddings({p for t in data.values() for p in t["padding"]} - {NATIVE})
    colours = _padding_colours(paddings)
    fig, axes = plt.subplots(len(panels), len(models), figsize=(3.6 * len(models) + 1.6, 2.5 * len(panels) + 1.3),
                             squeeze=False)  # fmt: skip
    for j, model in enumerate(models):
        layers = list(dict.fromkeys(tables["ppp"].loc[tables["ppp"]["model"] == model, "layer"]))
        pos = {layer: k for k, layer in enumerate(layers)}
        for i, (source, metric, label) in enumerate(panels):
            ax = axes[i][j]
            d = data[source]
            d = d[(d["model"] == model) & (d["metric"] == metric)]
            for padding in paddings:
                for target, style in (("H", "-"), ("G", "--")) if source == "posenet" else ((None, "-"),):
                    s = d[d["padding"] == padding]
                    if target:
                        s = s[s["target"] == target]
                    if s.empty:
                        continue
                    xs = s["layer"].map(pos).to_numpy(float)
                    ax.errorbar(xs, s["mean"], yerr=s["std"].to_numpy(float), ls=style, marker="o", ms=4, capsize=2,
                                color=colours[padding], label=padding if target in (None, "H") else None,
                                mfc=colours[padding])  # fmt: skip
                    if source == "ppp":
                        approx = ~s["exact_reference"].astype(str).str.lower().eq("true").to_numpy()
                        ax.plot(xs[approx], s["mean"].to_numpy(float)[approx], "o", ms=6, mfc="white",
                                mec=colours[padding], zorder=3)  # fmt: skip
            if metric == "location_accuracy":
                ax.axhline(50, color="0.5", lw=0.8, ls=":")
                ax.set_ylim(40, 102)
            elif source == "posenet":
                ax.set_ylim(-1.05, 1.05)
                ax.axhline(0, color="0.5", lw=0.8, ls=":")
            ax.set_xticks(range(len(layers)), layers, fontsize=7, rotation=20)
            if i == 0:
                ax.set_title(model, fontsize=9)
            if j == 0:
                ax.set_ylabel(label, fontsize=8)
    legend = {}
    for ax in axes.flat:  # every padding once, whichever panel has it
        legend.update(zip(*reversed(ax.get_legend_handles_labels())))
    fig.legend(list(legend.values()), list(legend), title="padding", loc="center right", fontsize=8)
    fig.suptitle(f"Pretrained models per tapped layer: PosENet, PPP and the location test\n{title}\n"
                 "hollow PPP markers: approximate reference (the tap's receptive field needs more real context "
                 "than the images have)", fontsize=9)  # fmt: skip
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    return fig


# ---------------------------------------------------------------- PPP heat maps
def read_maps(paths) -> pd.DataFrame:
    """One row per model x padding x tap: its depth, stride, whether its reference is exact,
    and the heat map divided by the tap's image-feature std (a dimensionless scale)."""
    rows = []
    for path in paths:
        z = load_npz(path, "pretrained PPP heat maps")
        for i, layer in enumerate(z["layers"]):
            rows.append({"model": str(z["model"]), "padding": str(z["padding"]), "layer": str(layer), "depth": i,
                         "stride": int(z[f"stride_{i}"]), "exact": bool(z[f"exact_{i}"]),
                         "map": z[f"heat_{i}"] / max(float(z[f"feature_std_{i}"]), 1e-12)})  # fmt: skip
    if not rows:
        raise ValueError("no PPP heat maps given")
    return pd.DataFrame(rows)


def plot_ppp_maps(maps: pd.DataFrame, title: str = ""):
    """Rows = model x padding, columns = taps (shallow to deep); one logarithmic colour scale
    per model and tap, shared by its paddings."""
    apply_style()
    rank = {p: i for i, p in enumerate([NATIVE] + order_paddings(set(maps["padding"]) - {NATIVE}))}
    models = list(dict.fromkeys(maps["model"]))
    maps = maps.assign(_m=maps["model"].map({m: i for i, m in enumerate(models)}), _p=maps["padding"].map(rank))
    maps = maps.sort_values(["_m", "_p", "depth"])
    rows = list(dict.fromkeys(zip(maps["model"], maps["padding"])))
    depth = int(maps["depth"].max()) + 1
    fig, axes = plt.subplots(len(rows), depth, figsize=(2.2 * depth + 1.2, 2.0 * len(rows) + 1.2), squeeze=False,
                             constrained_layout=True)  # fmt: skip
    index = {(r.model, r.padding, r.depth): r for r in maps.itertuples()}
    for i, (model, padding) in enumerate(rows):
        for k in range(depth):
            ax = axes[i][k]
            r = index.get((model, padding, k))
            if r is None:
                ax.set_axis_off()
                continue
            peers = [index[(model, p, k)].map.max() for (m, p) in rows if m == model and (m, p, k) in index]
            vmax = float(max(peers)) or 1.0
            h, w = r.map.shape
            im = ax.imshow(np.maximum(r.map, vmax * MAP_RANGE), cmap="magma", interpolation="nearest",
                           norm=LogNorm(vmin=vmax * MAP_RANGE, vmax=vmax, clip=True),
                           extent=(0, w * r.stride, h * r.stride, 0))  # fmt: skip
            ax.grid(False)
            ax.tick_params(labelsize=6)
            ax.set_title(f"{r.layer} (s {r.stride}){'' if r.exact else ', approx.'}", fontsize=7)
            if k == 0:
                ax.set_ylabel(row_label(model, padding), fontsize=7)
        fig.colorbar(im, ax=axes[i, :].tolist(), shrink=0.8, pad=0.01).ax.tick_params(labelsize=6)
    fig.suptitle(f"PPP heat maps of pretrained models: channel-RMS of the mean border contribution / feature std "
                 f"(log; one scale per model and tap)\n{title}", fontsize=9)  # fmt: skip
    return fig
