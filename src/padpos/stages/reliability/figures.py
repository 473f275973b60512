"""Metric reliability figures (docs/protocols.md section 6):

- ``plot_reliability``: the three methods side by side (PPP SNR, PosENet SPC of the
  vertical target, location-test accuracy) for every network, bars coloured by the
  known truth, each method's null value marked (a reliable metric sits on it for the
  position-free control);
- ``plot_calibration``: each metric versus the injected dose, one line per seed,
  with the Spearman correlation per seed in the panel title;
- ``plot_comparison``: the comparison decided by behaviour (section 6c), every metric's
  separation, gap correlation and false-positive rates with their intervals.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from padpos.plotting import apply_style

PANELS = {  # metric -> (axis label, null value)
    "ppp_snr_db": ("PPP SNR at the deepest layer (dB)", None),
    "posenet_spc_V": ("PosENet SPC, vertical target V", 0.0),
    "location_accuracy": ("location test accuracy (%)", 50.0),
}
# what a metric of position FROM PADDING should read (the rows' sources say what else is there)
TRUTH_COLOURS = {"absent": "#c0392b", "present": "#2c7fb8"}
SNR_FLOOR_DB = -80.0  # where -inf (no pattern at all: exactly 0) and lower values are drawn


def _clip_snr(values: pd.Series) -> pd.Series:
    return values.replace(-math.inf, SNR_FLOOR_DB).clip(lower=SNR_FLOOR_DB)


def _label(row) -> str:
    name = str(row["network"]).replace("position_free_control", "control (no padding)")
    name = name.replace("_init", ", init").replace("_trained", ", trained")
    source = f"; {row['source']}" if "source" in row and isinstance(row["source"], str) else ""
    return f"{name} [{row['images']}{source}]"


def plot_reliability(table: pd.DataFrame, title: str = ""):
    """Horizontal bars per network (rows) for each headline metric (columns)."""
    apply_style()
    missing = [m for m in PANELS if m not in set(table["metric"])]
    if missing:
        raise ValueError(f"metric_reliability table lacks the metric(s) {missing}")
    keys = ["network", "images", "truth"] + (["source"] if "source" in table else [])
    networks = table.drop_duplicates(["network", "images"])[keys]
    labels = [_label(r) for _, r in networks.iterrows()]
    y = np.arange(len(networks))
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4.2 * len(PANELS), 1.2 + 0.32 * len(y)),
                             sharey=True)  # fmt: skip
    for ax, (metric, (xlabel, null)) in zip(axes, PANELS.items()):
        sub = networks.merge(table[table["metric"] == metric], on=keys, how="left")
        values = sub["value"].astype(float)
        base = 0.0
        if metric == "ppp_snr_db":
            values, base = _clip_snr(values), SNR_FLOOR_DB
            exact = sub["value"].astype(float) <= SNR_FLOOR_DB
            for yi in y[exact.to_numpy()]:
                ax.text(SNR_FLOOR_DB + 1, yi, "no pattern (exact 0)", va="center", fontsize=7)
        elif metric == "location_accuracy":
            base = 50.0
        colours = [TRUTH_COLOURS.get(t, "grey") for t in sub["truth"]]
        ax.barh(y, values - base, left=base, xerr=sub["std"].fillna(0).to_numpy(), color=colours,
                alpha=0.85, capsize=2, edgecolor="white")  # fmt: skip
        if null is not None:
            ax.axvline(null, color="black", lw=1, ls="--")
        ax.set_xlabel(xlabel)
        if metric == "ppp_snr_db":
            ax.set_xlim(SNR_FLOOR_DB, max(5.0, float(values.max()) + 5))
        elif metric == "location_accuracy":
            ax.set_xlim(45.0, 101.0)  # the null (50 %, chance) stays visible
        ax.grid(axis="y", visible=False)
    axes[0].set_yticks(y, labels, fontsize=8)
    axes[0].invert_yaxis()
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.85) for c in TRUTH_COLOURS.values()]
    fig.legend(handles, [f"position from padding: {t}" for t in TRUTH_COLOURS], loc="lower center", ncol=3,
               frameon=False, bbox_to_anchor=(0.5, -0.01))  # fmt: skip
    fig.suptitle((title + "\n" if title else "")
                 + "Metric reliability: same networks, known truth (dashed: the metric's null; "
                 "bars: mean +- std over seeds)", fontsize=10)  # fmt: skip
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return fig


def plot_calibration(calibration: pd.DataFrame, summary: pd.DataFrame | None = None, title: str = ""):
    """Each headline metric versus the injected dose, one line per seed."""
    apply_style()
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4.2 * len(PANELS), 3.8))
    rho = {} if summary is None else summary.set_index("metric")["spearman_mean"].to_dict()
    doses = sorted(calibration["dose"].unique())
    positive = [d for d in doses if d > 0]
    for ax, (metric, (ylabel, null)) in zip(axes, PANELS.items()):
        sub = calibration[calibration["metric"] == metric]
        if sub.empty:
            raise ValueError(f"metric_calibration table lacks the metric {metric!r}")
        for seed, g in sub.groupby("seed"):
            g = g.sort_values("dose")
            values = _clip_snr(g["value"]) if metric == "ppp_snr_db" else g["value"]
            ax.plot(g["dose"], values, marker="o", ms=4, lw=1.2, label=f"seed {seed}")
        if null is not None:
            ax.axhline(null, color="black", lw=1, ls="--")
        if positive:
            ax.set_xscale("symlog", linthresh=min(positive))
            ax.set_xlim(-0.3 * min(positive), 1.5 * max(positive))
            ax.set_xticks(doses, [f"{d:g}" for d in doses])
            ax.minorticks_off()
        if metric == "ppp_snr_db" and (sub["value"] <= SNR_FLOOR_DB).any():
            ax.annotate("exactly 0 (-inf dB)", (0, SNR_FLOOR_DB), xytext=(4, 4),
                        textcoords="offset points", fontsize=7)
        ax.set_xlabel("injected dose a (image-feature std)")
        ax.set_ylabel(ylabel)
        r = rho.get(metric)
        ax.set_title(f"Spearman with dose: {r:.2f}" if r is not None and np.isfinite(r) else metric,
                     fontsize=9)  # fmt: skip
    axes[0].legend(fontsize=7)
    fig.suptitle((title + "\n" if title else "")
                 + "Dose-response calibration: a * P added to a padding-free net "
                 "(dose 0 = the position-free control)", fontsize=10)  # fmt: skip
    fig.tight_layout()
    return fig


COMPARISON_PANELS = {  # statistic -> (axis label, the value of a metric that knows nothing)
    "separation": ("AUC: nets that use position vs padded nets that do not", 0.5),
    "gap_rho": ("Spearman rho with the behavioural gap (padded nets)", 0.0),
    "fpr_content_only": ("flagged share of content-only nets (circular)", 0.0),
    "fpr_boundary_only": ("flagged share of boundary-only nets (valid)", 0.0),
}


def plot_comparison(table: pd.DataFrame, title: str = ""):
    """The behavioural comparison (docs/protocols.md section 6c) on the first probe image
    set: per statistic (panels) every metric and PPP minus the best other, with its 95 %
    bootstrap interval; the dashed line is what a metric that knows nothing reads."""
    apply_style()
    if table.empty:
        raise ValueError("the metric_comparison table is empty")
    images = table["images"].iloc[0]
    table = table[table["images"] == images]
    fig, axes = plt.subplots(1, len(COMPARISON_PANELS), figsize=(4.0 * len(COMPARISON_PANELS), 3.6),
                             sharey=True)  # fmt: skip
    for ax, (statistic, (xlabel, null)) in zip(axes, COMPARISON_PANELS.items()):
        sub = table[table["statistic"] == statistic].iloc[::-1]
        y = np.arange(len(sub))
        value = sub["value"].astype(float).to_numpy()
        low = np.nan_to_num(value - sub["ci_low"].astype(float).to_numpy(), nan=0.0).clip(min=0)
        high = np.nan_to_num(sub["ci_high"].astype(float).to_numpy() - value, nan=0.0).clip(min=0)
        colours = ["#c0392b" if m == "ppp_minus_best" else "#2c7fb8" for m in sub["metric"]]
        ax.barh(y, np.nan_to_num(value), xerr=[low, high], color=colours, capsize=2)
        ax.axvline(0.0 if null == 0.0 else null, color="0.3", ls="--", lw=0.8)
        # the panels share their y axis, so the best other metric (which differs from panel
        # to panel) is named beside its bar, not in the shared tick label
        ax.set_yticks(y, ["PPP - best other" if m == "ppp_minus_best" else m for m in sub["metric"]])
        for yi, m, b in zip(y, sub["metric"], sub["best_other"].fillna("")):
            if m == "ppp_minus_best" and b:
                ax.annotate(f"best other: {b}", (0, yi), xytext=(3, 0), textcoords="offset points",
                            va="center", fontsize=6, color="0.2")  # fmt: skip
        n = int(sub["n"].min()) if len(sub) else 0
        ax.set_title(f"{statistic} (n = {n} nets per regime)", fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
    fig.suptitle(f"{title}; probe images: {images}" if title else f"probe images: {images}", fontsize=10)
    fig.tight_layout()
    return fig
