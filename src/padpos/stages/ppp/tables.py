"""Tables of the PPP stage: the final epoch per padding x layer, and formation over epochs."""

from __future__ import annotations

import pandas as pd

from padpos.names import PPP_METRICS as METRICS
from padpos.stats import first_seen_rank, summarize


def _ppp_summary(runs: pd.DataFrame, by_epoch: bool) -> pd.DataFrame:
    """Each PPP metric per (arch,) padding x (epoch x) layer over seeds; ``arch`` comes first
    only when the study has several. Rows: paddings and layers in order of appearance
    (config order, shallow to deep), epochs ascending, metrics in ``METRICS`` order."""
    missing = {"arch", "padding", "seed", "epoch", "layer", "metric", "value"} - set(runs)
    if missing:
        raise ValueError(f"PPP results lack the column(s) {sorted(missing)}")
    runs = runs[runs["metric"].isin(METRICS)].copy()
    if not by_epoch:
        last = runs.groupby(["arch", "padding", "seed"])["epoch"].transform("max")
        runs = runs[runs["epoch"] == last]
    keys = ["arch"] if runs["arch"].nunique() > 1 else []
    keys += ["padding", "epoch", "layer", "metric"] if by_epoch else ["padding", "layer", "metric"]
    rank = {key: first_seen_rank(runs[key]) for key in keys}
    rank["metric"] = first_seen_rank(METRICS)
    runs = runs.sort_values(
        keys, key=lambda col: col if col.name == "epoch" else col.map(rank[col.name]), kind="stable"
    )
    return summarize(runs, keys, "value")


def table_ppp(runs: pd.DataFrame) -> pd.DataFrame:
    """PPP metrics of each run's final epoch per padding x layer over seeds."""
    return _ppp_summary(runs, by_epoch=False)


def table_ppp_formation(runs: pd.DataFrame) -> pd.DataFrame:
    """PPP metrics per padding x epoch x layer over seeds (formation during training)."""
    return _ppp_summary(runs, by_epoch=True)
