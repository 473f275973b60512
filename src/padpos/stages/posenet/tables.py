"""Tables of the PosENet stage: SPC / MAE per backbone padding (or readout padding)."""

from __future__ import annotations

import pandas as pd

from padpos.names import POSENET_INPUTS, POSENET_METRICS, POSENET_TARGETS
from padpos.stats import first_seen_rank, summarize


def _posenet_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """SPC / MAE per (arch,) padding-or-readout_padding x target x input x metric over seeds;
    ``arch`` comes first only when the runs hold several. Rows: archs and paddings in order of
    appearance (config order), then metric, input, target in their canonical order."""
    scheme = "readout_padding" if "readout_padding" in runs.columns else "padding"
    by = (["arch"] if "arch" in runs.columns and runs["arch"].nunique() > 1 else []) + [
        scheme,
        "target",
        "input",
        "metric",
    ]
    out = summarize(runs, by, "value")
    ranks = {c: first_seen_rank(out[c]) for c in by if c not in ("target", "input", "metric")}
    ranks.update(target=first_seen_rank(POSENET_TARGETS), input=first_seen_rank(POSENET_INPUTS),
                 metric=first_seen_rank(POSENET_METRICS))  # fmt: skip
    sort_keys = [c for c in by if c not in ("target", "input", "metric")] + ["metric", "input", "target"]
    out = out.sort_values(sort_keys, key=lambda col: col.map(ranks[col.name]))
    return out.reset_index(drop=True)


def table_posenet(runs: pd.DataFrame) -> pd.DataFrame:
    """PosENet readout of every trained backbone, per padding x target x input x metric."""
    return _posenet_summary(runs)


def table_posenet_alone(runs: pd.DataFrame) -> pd.DataFrame:
    """PosENet alone on raw RGB, per readout padding x target x input x metric."""
    return _posenet_summary(runs)
