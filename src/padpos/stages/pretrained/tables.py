"""Tables of the pretrained-model stage: PosENet, PPP and the location test per model,
padding (``native`` = as published, then the what-if schemes) and tapped layer."""

from __future__ import annotations

import pandas as pd

from padpos.names import PADDING_SCHEMES, POSENET_INPUTS, POSENET_METRICS, POSENET_TARGETS, PPP_METRICS
from padpos.stages.pretrained.catalog import ALONE, NATIVE
from padpos.stats import bool_column, first_seen_rank, summarize

LOCATION_METRICS = ("location_accuracy", "location_p_value")


def _require(runs: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in runs.columns]
    if missing:
        raise ValueError(f"{what} results lack the column(s) {missing}")


def _ranks(runs: pd.DataFrame) -> dict:
    """Row order: PosENet alone first (as [ISL20] Table 1), then the models in config order;
    native before the what-if paddings (in the project's scheme order); layers as tapped."""
    models = [ALONE] + [m for m in dict.fromkeys(runs["model"]) if m != ALONE]
    return {"model": first_seen_rank(models), "padding": first_seen_rank((NATIVE,) + PADDING_SCHEMES),
            "layer": first_seen_rank(["all", "rgb"] + list(runs["layer"])),
            "input": first_seen_rank(POSENET_INPUTS), "target": first_seen_rank(POSENET_TARGETS),
            "metric": first_seen_rank(POSENET_METRICS + PPP_METRICS + LOCATION_METRICS)}  # fmt: skip


def _sorted(out: pd.DataFrame, ranks: dict, keys) -> pd.DataFrame:
    keys = [k for k in keys if k in out.columns]
    return out.sort_values(keys, kind="stable", key=lambda c: c.map(ranks[c.name])).reset_index(drop=True)


def table_pretrained_posenet(runs: pd.DataFrame) -> pd.DataFrame:
    """PosENet SPC / MAE per model x padding x layer (``all`` = multi-level, ``rgb`` =
    PosENet alone) x input x target over the readout seeds."""
    by = ["model", "padding", "layer", "input", "target", "metric"]
    _require(runs, by + ["value", "seed"], "pretrained PosENet")
    ranks = _ranks(runs)
    out = summarize(_sorted(runs, ranks, by), by, "value")
    return _sorted(out, ranks, ["model", "padding", "metric", "layer", "input", "target"])


def table_pretrained_ppp(runs: pd.DataFrame) -> pd.DataFrame:
    """PPP per model x padding x tapped layer, with the tap's stride, the real context used
    and the context its receptive field needs (``exact_reference``: needed <= used)."""
    facts = ["stride", "context_px", "context_needed_px", "exact_reference"]
    by = ["model", "padding", "layer", *facts, "metric"]
    _require(runs, by + ["value"], "pretrained PPP")
    runs = runs.assign(exact_reference=bool_column(runs["exact_reference"]))
    ranks = _ranks(runs)
    out = summarize(_sorted(runs, ranks, ["model", "padding", "layer", "metric"]), by, "value")
    return _sorted(out, ranks, ["model", "padding", "metric", "layer"])


def table_pretrained_location(runs: pd.DataFrame) -> pd.DataFrame:
    """Location (quadrant) test accuracy (%, chance 50) and its binomial p-value per
    model x padding x tapped layer."""
    by = ["model", "padding", "layer", "metric"]
    _require(runs, by + ["value"], "pretrained location test")
    ranks = _ranks(runs)
    out = summarize(_sorted(runs, ranks, by), by, "value")
    return _sorted(out, ranks, ["model", "padding", "metric", "layer"])


def table_pretrained_photos(runs: pd.DataFrame) -> pd.DataFrame:
    """The photo check of every model (padpos.stages.pretrained.photocheck): per photograph
    its expected ImageNet classes, the top-1 / top-5 and whether they hit, and the model's
    verdict (``passed``; empty when the check does not apply)."""
    _require(runs, ["model", "photo", "expected", "top1", "top5", "top1_correct", "top5_correct", "passed"],
             "pretrained photo check")  # fmt: skip
    return runs.reset_index(drop=True)
