"""Shared look of every figure (a building block of the stages' figures): one colour per
padding scheme across all figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are files; no display on cluster nodes

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from padpos.names import PADDING_SCHEMES  # noqa: E402

# fixed order and colours so that a padding scheme looks the same in every figure
PADDING_ORDER = list(PADDING_SCHEMES)
_COLOURS = sns.color_palette("tab10", len(PADDING_ORDER))


def apply_style() -> None:
    sns.set_theme(context="paper", style="whitegrid", font_scale=1.1)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "axes.titleweight": "bold"})


def padding_palette(paddings=None) -> dict:
    """Colour per padding name; unknown names (e.g. 'circular_pad2') get a derived colour."""
    out = dict(zip(PADDING_ORDER, _COLOURS))
    extra = sns.color_palette("Set2", 8)
    for i, name in enumerate(p for p in (paddings or []) if p not in out):
        out[name] = extra[i % len(extra)]
    return out


def spread_label(n: int, template: str = "mean \u00b1 std over {n} seeds") -> str:
    """How a figure states its spread over ``n`` seeds: ``template`` filled in, or
    ``"1 seed, no error bars"`` (tables leave std empty for one run: never a zero bar)."""
    return "1 seed, no error bars" if n < 2 else template.format(n=n)


def order_paddings(paddings) -> list:
    """Paddings in the canonical order, unknown names last (sorted)."""
    known = [p for p in PADDING_ORDER if p in set(paddings)]
    return known + sorted(set(paddings) - set(known))


def main_arch_rows(df, title: str = ""):
    """A figure that shows one arch: the rows of the first arch of ``df`` and the
    padding-free arm's (padding ``valid`` of another arch, drawn beside them as one more
    scheme), and the title saying so. Tables keep every arch; a one-arch table is returned
    unchanged."""
    if "arch" not in df.columns or df["arch"].nunique() < 2:
        return df, title
    archs = list(dict.fromkeys(df["arch"]))
    keep = (df["arch"] == archs[0]) | ((df["arch"] != archs[0]) & (df["padding"] == "valid"))
    arm = sorted(set(df.loc[keep & (df["arch"] != archs[0]), "arch"]))
    shown = archs[0] + (f"; valid = padding-free {', '.join(arm)}" if arm else "")
    return df[keep], f"{title} - shown: {shown}" if title else f"shown: {shown}"
