"""Tables of the canvas stage ([ISL21] location-dependent classification): accuracy per
ring (border distance in cells) and per cell, for both tasks (location, class)."""

from __future__ import annotations

import pandas as pd

from padpos.names import CANVAS_COLOURS
from padpos.stats import order_rows, summarize

RUN = ("study", "arch", "padding", "seed", "canvas", "grid", "cell_size", "task")


def _orders(runs: pd.DataFrame, by) -> dict:
    orders = {"canvas": list(CANVAS_COLOURS), "task": ["location", "class"]}
    orders.update({c: list(dict.fromkeys(runs[c])) for c in ("arch", "padding") if c in by})
    return orders


def _arch(runs: pd.DataFrame) -> list[str]:
    return ["arch"] if runs["arch"].nunique() > 1 else []


def table_canvas_location(runs: pd.DataFrame) -> pd.DataFrame:
    """Accuracy (%) per (arch,) padding x canvas colour x task x ring (border distance in
    cells, gap_px = ring x cell) and ``all`` cells: each run's mean over the ring's cells,
    then mean / std / n / ci95 / n_failed / n_unconverged over seeds. ``chance`` = the
    task's chance level. The runs report their final epoch."""
    by_run = [c for c in RUN if c in runs.columns]
    # n_test: the test placements behind a run's ring accuracy (the binomial guard of the claims)
    how = {"accuracy": "mean", "converged": "all", "n_test": "sum"}
    per_ring = runs.groupby(by_run + ["ring", "gap_px", "chance"], sort=False)[list(how)].agg(how).reset_index()
    per_all = runs.groupby(by_run + ["chance"], sort=False)[list(how)].agg(how).reset_index()
    per_all["ring"], per_all["gap_px"] = "all", float("nan")
    both = pd.concat([per_ring, per_all], ignore_index=True)
    both["ring"] = both["ring"].astype(str)
    by = _arch(runs) + ["padding", "canvas", "task", "grid", "cell_size", "chance", "ring", "gap_px"]
    out = summarize(both, by, "accuracy")
    rings = sorted({r for r in both["ring"] if r != "all"}, key=int) + ["all"]
    return order_rows(out, by, {**_orders(runs, by), "ring": rings})


def table_canvas_cells(runs: pd.DataFrame) -> pd.DataFrame:
    """Accuracy (%) per (arch,) padding x canvas colour x task x cell (row, col, ring)
    over seeds: the numbers behind the heat maps."""
    by = _arch(runs) + ["padding", "canvas", "task", "cell", "row", "col", "ring"]
    out = summarize(runs, by, "accuracy")
    return order_rows(out, by, _orders(runs, by))
