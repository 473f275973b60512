"""figures/<study>/claims.png: the scorecard, one panel per claim: the statistic and its
95 % interval against the rule's threshold, coloured by the verdict, with the paper's
published value beside it (a black diamond and its tolerance) and the agreement."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd

from padpos.plotting import apply_style
from padpos.stages.claims.scorecard import AGREEMENTS

VERDICT_COLOURS = {
    "supported": "#1b7837",
    "contradicted": "#b2182b",
    "inconclusive": "#8c8c8c",
    "by construction": "#2166ac",
}


def _finite(*values) -> list[float]:
    return [float(v) for v in values if v is not None and pd.notna(v) and math.isfinite(float(v))]


def _paper(row) -> tuple[float, float] | None:
    """(published value, tolerance) of a row that has one, else None."""
    value = row.get("paper_value")
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value):
        return None
    tol = row.get("paper_tolerance")
    tol = float(tol) if tol is not None and pd.notna(tol) else 0.0
    return value, tol


def _panel(ax, row) -> None:
    colour = VERDICT_COLOURS.get(row["verdict"], "black")
    t = float(row["threshold"])
    thresholds = [-t, t] if row["direction"] == "within" else [t]
    paper = _paper(row)
    points = _finite(row["value"], row["ci_low"], row["ci_high"], *thresholds,
                     *((paper[0] - paper[1], paper[0] + paper[1]) if paper else ()))  # fmt: skip
    lo, hi = (min(points), max(points)) if points else (-1.0, 1.0)
    pad = 0.15 * (hi - lo) or 0.5 * max(1.0, abs(hi))
    lo, hi = lo - pad, hi + pad
    # the claimed side of the threshold, shaded
    if row["direction"] == "greater":
        ax.axvspan(t, hi, color=colour, alpha=0.06)
    elif row["direction"] == "less":
        ax.axvspan(lo, t, color=colour, alpha=0.06)
    else:
        ax.axvspan(-t, t, color=colour, alpha=0.06)
    for x in thresholds:
        ax.axvline(x, color="black", lw=0.8, ls="--")
    value = row["value"]
    if pd.notna(row["ci_low"]) and pd.notna(row["ci_high"]) and math.isfinite(row["ci_low"]):
        ax.plot([row["ci_low"], row["ci_high"]], [0, 0], color=colour, lw=3, solid_capstyle="butt")
    if pd.notna(value) and math.isfinite(float(value)):
        ax.plot([value], [0], "o", color=colour, ms=6)
    elif pd.notna(value):  # -inf / inf (an exactly zero pattern): an arrow at the edge
        edge = lo if float(value) < 0 else hi
        ax.annotate("", (edge, 0), (edge + (0.1 if float(value) < 0 else -0.1) * (hi - lo), 0),
                    arrowprops={"arrowstyle": "->", "color": colour, "lw": 2})  # fmt: skip
    if paper is not None:  # the paper's value beside the study's, its tolerance as a thin bar
        ax.plot([paper[0] - paper[1], paper[0] + paper[1]], [-0.45, -0.45], color="black", lw=1)
        ax.plot([paper[0]], [-0.45], "D", color="black", ms=4, mfc="white")
    ax.set_xlim(lo, hi)
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=7, pad=1)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    n = int(row["n"]) if pd.notna(row["n"]) else 0
    agreement = row.get("paper_agreement", "")
    agreement = f"; paper: {agreement}" if isinstance(agreement, str) and agreement else ""
    ax.set_title(f"{row['id']}: {row['verdict']}  (n={n}, rule {row['rule']}{agreement})", loc="left",
                 fontsize=8, color=colour, fontweight="bold")  # fmt: skip
    note = row.get("note", "")
    reason = str(row["reason"]) + (f" [{note}]" if isinstance(note, str) and note else "")
    ax.text(1.0, 0.55, reason if len(reason) < 110 else reason[:107] + "...", transform=ax.transAxes,
            ha="right", va="bottom", fontsize=6, color="#444444")  # fmt: skip


def plot_claims(card: pd.DataFrame, title: str = ""):
    """One thin panel per claim, in the scorecard's order: the dot is the statistic, the bar
    its 95 % interval, the dashed line the rule's threshold (shaded: the claimed side);
    the panel's colour is the verdict; the black diamond below is the paper's published
    value with its tolerance (the title says whether they agree), and a note (e.g.
    schemes merged into one arm) follows the reason."""
    apply_style()
    n = len(card)
    fig, axes = plt.subplots(n, 1, figsize=(9, 0.62 * n + 1.4), squeeze=False)
    for ax, (_, row) in zip(axes[:, 0], card.iterrows()):
        _panel(ax, row)
    counts = card["verdict"].value_counts()
    summary = ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICT_COLOURS)
    if "paper_agreement" in card.columns:
        agree = card["paper_agreement"].value_counts()
        summary += "\npublished values: " + ", ".join(f"{agree[a]} {a}" for a in AGREEMENTS
                                                      if a in agree and a != "no published value")  # fmt: skip
    fig.suptitle(f"Replication scorecard: {summary}\n{title}", fontsize=10)
    handles = [plt.Line2D([], [], color=c, lw=3, label=v) for v, c in VERDICT_COLOURS.items()]
    handles.append(plt.Line2D([], [], color="black", lw=1, marker="D", mfc="white", ms=4,
                              label="paper's value (tolerance)"))  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=5, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.03, 1, 0.97), h_pad=0.6)
    return fig


__all__ = ["VERDICT_COLOURS", "plot_claims"]
