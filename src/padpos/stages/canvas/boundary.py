"""Boundary effects of [ISL21] (docs/protocols.md section 5): one job per (arch, padding,
seed) trains the canvas nets of :mod:`padpos.stages.canvas.nets` (location-dependent
classification: the cell and the class of an image on a k x k canvas) and writes one row
per canvas colour x task x cell.

- k: ``canvas.grid``, or null = the rule of :func:`padpos.stages.canvas.geometry.grid_for`
  applied to the largest receptive field among the study's archs (the same k for every
  arm), so that the task cannot saturate; written in docs/protocols.md section 5.
- Cell size: *project choice*, a multiple of every arch's total stride: then a
  circular-padded net is exactly equivariant to moving the image by one cell and scores
  exactly chance, the built-in negative control; an error otherwise.

``torch`` and the package's heavy modules are imported where used, as elsewhere.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from padpos.names import CANVAS_COLOURS
from padpos.specs import with_defaults
from padpos.stages.canvas.geometry import grid_for, receptive_field, total_stride
from padpos.stages.canvas.nets import EPOCH_REPORTED, canvas_experiment

COLOURS = CANVAS_COLOURS
SUBSET_STREAMS = {"train": 11, "test": 12}  # one random subset per purpose

# schema defaults: the ICCV 2021 code's optimiser and schedule (PermuteNet,
# channel-wise-position-encoding/trainval_gapnet.py), k by the rule
DEFAULTS = {
    "colours": list(COLOURS),
    "colour_arms": None,  # None = every padding runs every colour; else these, the others the first
    "grid": None,  # None = the rule (geometry.grid_for) on the study's receptive field
    "cell_size": None,  # None = the data set's image size
    "num_train": None,  # None = the whole train split
    "num_test": None,
    "epochs": 20,
    "batch_size": 48,
    "lr": 1e-3,
    "width": None,  # None = the trained backbone's width (train.width)
    # % final-epoch training CLASS accuracy from which a canvas net has learned its task
    "converged_train_acc": 50.0,
}


# ---------------------------------------------------------------- source images
def source_images(manifest_path, split: str, indices: Sequence[int], size: int) -> tuple:
    """Images ``indices`` of a split as (float pixels in [0, 1], ``size`` x ``size``; int64
    labels): synthetic scenes are rendered at that size, other images un-normalised and
    resized (antialiased bilinear)."""
    from padpos import data

    manifest = data.read_manifest(manifest_path)
    indices = [int(i) for i in indices]
    if manifest["dataset"] == "synthetic":
        images, labels = data.render_scenes(int(manifest["seed"]), split, indices, size)
        return data.uint8_to_pixels(images), labels
    ds = data.load_split(manifest_path, split)
    images = torch.stack([data.to_pixels(ds[i][0], ds.mean, ds.std) for i in indices])
    labels = torch.tensor([int(ds.targets[i]) for i in indices], dtype=torch.int64)
    images = images.clamp(0.0, 1.0)
    if images.shape[-1] != size:
        images = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True)
    return images.clamp(0.0, 1.0), labels


def source_pixels(manifest_path, split: str, indices: Sequence[int], size: int) -> torch.Tensor:
    """The pixels of :func:`source_images`."""
    return source_images(manifest_path, split, indices, size)[0]


def subset(manifest_path, split: str, n: int | None, purpose: str) -> np.ndarray:
    """The seeded random subset of a split used for ``purpose`` (the same for every
    network of the study: it depends on the data seed only)."""
    from padpos import data

    manifest = data.read_manifest(manifest_path)
    available = int(manifest["splits"][split]["size"])
    return data.random_subset(available, n, int(manifest["seed"]), SUBSET_STREAMS[purpose])


# ---------------------------------------------------------------- one job
def spec_with_defaults(spec: dict) -> dict:
    """Fill missing canvas settings; an unknown key is an error naming it. ``archs``: the
    study's archs (the padding-free arm's included), whose largest receptive field sets k."""
    out = with_defaults(spec, DEFAULTS, "canvas", extra=("study", "seed", "arch", "padding", "archs"))
    if out["colour_arms"] is not None and not isinstance(out["colour_arms"], list):
        raise ValueError(f"canvas.colour_arms: a list of paddings or null, got {out['colour_arms']!r}")
    bad = [c for c in out["colours"] if c not in COLOURS]
    if bad:
        raise ValueError(f"canvas.colours: unknown colour(s) {bad}; allowed: {', '.join(COLOURS)}")
    return out


def resolve_grid(spec: dict, arch: str, cell: int) -> tuple[int, dict]:
    """k (``spec['grid']``, or the rule on the largest receptive field of ``spec['archs']``,
    default ``[arch]``) and what decided it; a cell that is not a multiple of an arch's
    total stride is an error naming the key. The fields are measured only for the rule."""
    archs = list(dict.fromkeys(spec.get("archs") or [arch]))
    fields = {a: receptive_field(a) if not spec["grid"] else (None, total_stride(a)) for a in archs}
    for a, (_, stride) in fields.items():
        if cell % stride:
            raise ValueError(f"canvas.cell_size: {cell} px is not a multiple of {a}'s total stride "
                             f"{stride} px (circular padding would not be an exact control)")  # fmt: skip
    if spec["grid"]:
        return int(spec["grid"]), {"receptive_field_px": None, "grid_rule": False}
    k = grid_for(max(f for f, _ in fields.values()), cell)
    return k, {"receptive_field_px": {a: f for a, (f, _) in fields.items()}, "grid_rule": True}


def run_boundary(spec: dict, manifest_path, out: dict) -> dict:
    """One job per (arch, padding, seed) of the study: the canvas nets of that arch,
    padding and seed (one per canvas colour). Writes ``out['canvas']`` (CSV, one row per
    colour x task x cell) and ``out['provenance']`` (JSON); returns the provenance."""
    from padpos import data
    from padpos.io import write_csv
    from padpos.runtime import ieee_float32, provenance, select_device, write_provenance

    started = time.time()
    spec = spec_with_defaults(spec)
    missing = [key for key in ("arch", "padding") if key not in spec]
    if missing:
        raise ValueError(f"canvas spec lacks {missing}")
    device = select_device()
    ieee_float32(device)
    seed = int(spec.get("seed", 0))
    manifest = data.read_manifest(manifest_path)
    mean, std = manifest["mean"], manifest["std"]
    cell = int(spec["cell_size"] or manifest["image_size"])
    spec["width"] = int(spec["width"] or 16)  # the workflow passes train.width when canvas.width is null
    spec["grid"], grid_info = resolve_grid(spec, spec["arch"], cell)
    train = source_images(manifest_path, "train", subset(manifest_path, "train", spec["num_train"], "train"), cell)
    test = source_images(manifest_path, "test", subset(manifest_path, "test", spec["num_test"], "test"), cell)
    rows = canvas_experiment(spec["arch"], spec["padding"], seed, train, test, int(manifest["num_classes"]),
                             mean, std, spec, device)  # fmt: skip
    ids = {"study": spec.get("study", ""), "arch": spec["arch"], "padding": spec["padding"], "seed": seed}
    for i, (key, value) in enumerate(ids.items()):
        rows.insert(i, key, value)
    rows.insert(len(ids), "cell_size", cell)
    write_csv(out["canvas"], rows)
    prov = provenance(spec, started, device, data_manifest=str(manifest_path), cell_size=cell,
                      grid=spec["grid"], canvas_side=cell * spec["grid"], epoch_reported=EPOCH_REPORTED,
                      **grid_info)  # fmt: skip
    write_provenance(out["provenance"], prov)
    return prov
