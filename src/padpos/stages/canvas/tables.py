"""Tables of the boundary-effect stage: canvas location accuracy per ring, and accuracy
versus the object's distance to the border."""

from __future__ import annotations

import pandas as pd

from padpos.names import CANVAS_COLOURS, CANVAS_RINGS
from padpos.stats import order_rows, summarize


def table_canvas_location(runs: pd.DataFrame) -> pd.DataFrame:
    """Canvas location accuracy (%) per (arch,) padding x canvas colour x ring (and ``all``
    cells): each run's mean over the ring's cells, then mean / std / n / ci95 over seeds.
    The runs report their final epoch (column ``epoch_reported`` of the per-run rows)."""
    by_run = [c for c in ("study", "arch", "padding", "seed", "canvas") if c in runs.columns]
    per_ring = runs.groupby(by_run + ["ring"], sort=False)["accuracy"].mean().reset_index()
    per_all = runs.groupby(by_run, sort=False)["accuracy"].mean().reset_index()
    per_all["ring"] = "all"
    by = (["arch"] if runs["arch"].nunique() > 1 else []) + ["padding", "canvas", "ring"]
    out = summarize(pd.concat([per_ring, per_all], ignore_index=True), by, "accuracy")
    orders = {"ring": [*CANVAS_RINGS, "all"], "canvas": list(CANVAS_COLOURS)}
    orders.update({c: list(dict.fromkeys(runs[c])) for c in ("arch", "padding") if c in by})
    return order_rows(out, by, orders)


def table_border_distance(runs: pd.DataFrame) -> pd.DataFrame:
    """Classification accuracy (%) per (arch,) padding x method x distance of the object to
    the border (px) over seeds; runs of failed backbones are counted in ``n_failed``."""
    by = (["arch"] if runs["arch"].nunique() > 1 else []) + ["padding", "method", "distance_px"]
    out = summarize(runs, by, "accuracy")
    orders = {c: list(dict.fromkeys(runs[c])) for c in ("arch", "padding", "method") if c in by}
    return order_rows(out, by, orders)
