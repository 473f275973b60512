"""The runs of the metric-reliability reference (docs/protocols.md section 6): every
untrained reference network (control, calibration, CoordConv) and the study's backbones,
each measured by :func:`padpos.stages.reliability.controls.measure_metrics`; the stage's
settings and the job writers."""

from __future__ import annotations

from typing import Sequence

import pandas as pd
import torch

from padpos.specs import with_defaults
from padpos.stages.reliability.controls import measure_metrics
from padpos.stages.reliability.images import ImageSet, study_image_sets
from padpos.stages.reliability.networks import (
    ProbeNet,
    feature_unit,
    inject_position,
    probe_net,
    set_dose,
)


# Where a network's position information can come from (docs/protocols.md section 6): the
# padding (or, for `none`, its resize), the image boundary (every map is finite: [KAY20]
# shows that V-Conv reads absolute location), the content (position-biased images), the
# coordinates (CoordConv) or a map injected on purpose (the calibration). `truth` is what a
# metric of position *from padding* should read: present only where padding injects it.
IMAGE_SOURCES = {"photos": "boundary, content", "biased": "boundary, content"}
# PPP of a padding-free net with real context has no border term, by definition
BY_CONSTRUCTION = {"ppp_snr_db": "PPP of a padding-free net with real context is exactly 0 by definition",
                   "ppp_consistency": "PPP of a padding-free net with real context is exactly 0 by definition"}


def _source(images: str, *extra: str) -> str:
    return ", ".join([*extra, IMAGE_SOURCES.get(images, "boundary, content")])


def _marked(records: list[dict], padding_free: bool) -> list[dict]:
    """The rows with ``by_construction``: why a padding-free net's metric holds whatever the
    data (empty otherwise)."""
    return [{**r, "by_construction": BY_CONSTRUCTION.get(r["metric"], "") if padding_free else ""}
            for r in records]  # fmt: skip


def run_reference(spec: dict, image_sets: dict[str, ImageSet]) -> pd.DataFrame:
    """Every untrained reference network on the image sets: per seed, the position-free
    control (each image set), its dose-response calibration (``spec['doses']``
    injected at ``spec['inject_layer']``, on the first image set) and the CoordConv
    net (first image set). One row per network x image set x seed x dose x metric."""
    width, layers = int(spec["width"]), list(ProbeNet.LAYERS)
    first = next(iter(image_sets))
    rows = []

    def add(records, **ids):
        rows.extend({**ids, **r} for r in records)

    for seed in spec["seeds"]:
        control = {}
        for name, images in image_sets.items():
            net = probe_net(seed, width, images)
            control[name] = _marked(measure_metrics(net, layers, images, spec, seed), padding_free=True)
            add(control[name], family="control", network="position_free_control", images=name,
                truth="absent", source=_source(name), seed=seed, dose=0.0)
        images = image_sets[first]
        net = probe_net(seed, width, images)
        unit, size = feature_unit(net, spec["inject_layer"], images.test)
        inject_position(net, spec["inject_layer"], 0.0, unit, size, spec.get("decay", 2.0))
        for dose in spec["doses"]:
            # dose 0 IS the control (same seed, images and BatchNorm statistics; tested):
            # its rows are reused instead of computed twice
            set_dose(net, dose)
            records = control[first] if dose == 0 else _marked(
                measure_metrics(net, layers, images, spec, seed), padding_free=False)
            add(records, family="calibration", network="calibration", images=first,
                truth=f"dose {dose:g}", source=_source(first, *(["injected"] if dose else [])),
                seed=seed, dose=float(dose))  # fmt: skip
        net = probe_net(seed, width, images, coords=True)
        add(_marked(measure_metrics(net, layers, images, spec, seed), padding_free=False), family="coordconv",
            network="coordconv", images=first, truth="absent", source=_source(first, "coordinates"),
            seed=seed, dose=float("nan"))  # fmt: skip
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- trained backbones
def run_backbones(checkpoints: Sequence[str], manifest: str, spec: dict, images: ImageSet) -> pd.DataFrame:
    """The study's backbones (``model.pt`` = trained, ``snapshot_e0.pt`` = initialisation)
    on the image set: positive controls whose position information comes from padding.
    A snapshot whose BatchNorm statistics were never estimated (epoch 0) first has them
    estimated on the study's training images (as for PPP)."""
    from padpos.probes.pattern import prepare_model
    from padpos.models import feature_layers

    rows = []
    for checkpoint in checkpoints:
        model, meta = prepare_model(checkpoint, manifest, int(spec["bn_images"]), 256)
        stage = "init" if int(meta["epoch"]) == 0 else "trained"
        seed = int(meta["seed"])
        carrier = "resize" if meta["padding"] == "none" else "padding"
        ids = dict(family="backbone", network=f"{meta['padding']}_{stage}", arch=meta["arch"],
                   padding=meta["padding"], epoch=int(meta["epoch"]), images=images.name,
                   truth="present", source=_source(images.name, carrier), seed=seed, dose=float("nan"))
        records = _marked(measure_metrics(model, feature_layers(meta["arch"]), images, spec, seed), padding_free=False)
        rows.extend({**ids, **r} for r in records)
    return pd.DataFrame(rows)



# ---------------------------------------------------------------- a study's settings
DEFAULTS = {
    "seeds": [0, 1, 2],
    "width": 8,
    "doses": [0.0, 0.03, 0.1, 0.3, 1.0, 3.0],
    "inject_layer": "block1",
    "decay": 2.0,
    "image_sets": ["photos", "biased"],
    "photos": None,
    "image_seed": 0,
    "num_train": 64,
    "num_test": 64,
    "context_px": 32,
    "bn_images": 512,
}


def spec_with_defaults(spec: dict) -> dict:
    """The ``reliability`` settings with defaults filled; an unknown key is an error naming it.
    ``posenet`` (the study's PosENet readout settings) is passed through."""
    out = with_defaults(spec, DEFAULTS, "reliability", extra=("posenet", "study", "behaviour"))
    if 0 not in [float(d) for d in out["doses"]]:
        raise ValueError("reliability.doses must include 0 (the null: the position-free control)")
    if list(out["doses"]) != sorted(out["doses"]) or min(out["doses"]) < 0:
        raise ValueError(f"reliability.doses must be ascending and >= 0, got {out['doses']}")
    if out["inject_layer"] not in ProbeNet.LAYERS:
        raise ValueError(f"reliability.inject_layer {out['inject_layer']!r}; allowed: {list(ProbeNet.LAYERS)}")
    from padpos.probes.readout import DEFAULTS as POSENET_DEFAULTS

    from padpos.stages.reliability.behaviour import behaviour_spec

    out["posenet"] = {**POSENET_DEFAULTS, **out.get("posenet", {})}
    out["behaviour"] = behaviour_spec(out.get("behaviour", {}))
    return out



# ---------------------------------------------------------------- jobs
RUN_COLUMNS = ("study", "family", "network", "arch", "padding", "epoch", "images", "truth", "source",
               "seed", "dose", "metric", "value", "detects", "by_construction", "layer")  # fmt: skip


def _write_rows(rows: pd.DataFrame, study: str, output, spec: dict, started: float, **facts) -> None:
    from padpos import runtime

    rows = rows.assign(study=study)
    for col in RUN_COLUMNS:
        if col not in rows:
            rows[col] = None  # the reference nets have no arch / padding / epoch
    runtime.write_result(rows[list(RUN_COLUMNS)], output, spec, started, "cpu", **facts)


def run_reference_job(spec: dict, manifest, output) -> None:
    """The control (every image set), its calibration and the CoordConv net, every seed:
    writes the per-run rows to ``output`` (CSV) and the provenance beside it. On the
    CPU: the nets are tiny, and PPP of a padding-free net must be exact."""
    import time

    started = time.time()
    spec = spec_with_defaults(spec)
    sets = study_image_sets(spec, manifest)
    rows = run_reference(spec, sets)
    _write_rows(rows, spec.get("study", ""), output, spec, started, data_manifest=str(manifest),
                image_sets={k: [len(v.train), len(v.test), v.margin] for k, v in sets.items()})  # fmt: skip


def run_backbones_job(checkpoints: Sequence[str], manifest, spec: dict, output) -> None:
    """The study's backbones (``checkpoints``) on the first image set: writes the per-run
    rows to ``output`` (CSV) and the provenance beside it (CPU)."""
    import time

    started = time.time()
    spec = spec_with_defaults(spec)
    first = spec["image_sets"][0]
    images = study_image_sets(spec, manifest, [first])[first]
    rows = run_backbones(checkpoints, manifest, spec, images)
    _write_rows(rows, spec.get("study", ""), output, spec, started, data_manifest=str(manifest),
                checkpoints=[str(c) for c in checkpoints])  # fmt: skip
