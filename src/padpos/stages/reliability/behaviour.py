"""Runs of the behavioural metric comparison (docs/protocols.md section 6c): every seed
of one regime's box nets trained, their behaviour measured, then every metric (PPP,
PosENet H / V / G, the location test) on the same nets and the same probe images.

One job per regime: ``run_regime_job`` writes one row per net x image set x metric."""

from __future__ import annotations

import time

import pandas as pd

from padpos.specs import with_defaults
from padpos.stages.reliability import boxes, boxnets
from padpos.stages.reliability.controls import measure_metrics
from padpos.stages.reliability.images import ImageSet, make_image_set

# the probe image sets: the box scenes (the nets' own domain, position-free) or section 6's
IMAGE_SETS = ("boxes", "photos", "biased")

DEFAULTS = {
    "regimes": list(boxnets.REGIMES),
    "seeds": [0, 1, 2],
    "width": 8,
    "epochs": 6,
    "batch_size": 50,
    "lr": 0.003,
    "sizes": {"train": 600, "val": 200, "test": 200},
    "data_seed": 0,
    "min_accuracy": 60.0,
    "image_sets": ["boxes"],
}

RUN_COLUMNS = ("study", "regime", "role", "scheme", "split", "seed", "val_accuracy", "similar",
               "dissimilar", "gap", "failed", "images", "metric", "value", "detects", "layer")  # fmt: skip


def behaviour_spec(spec: dict) -> dict:
    """``reliability.behaviour`` with defaults filled; an unknown key or value is an error."""
    out = with_defaults(spec or {}, DEFAULTS, "reliability.behaviour")
    for regime in out["regimes"]:
        boxnets.check_regime(regime)
    unknown = sorted(set(out["image_sets"]) - set(IMAGE_SETS))
    if unknown or not out["image_sets"]:
        raise ValueError(f"reliability.behaviour.image_sets {out['image_sets']}; allowed: {list(IMAGE_SETS)}")
    return out


def probe_images(kind: str, spec: dict) -> ImageSet:
    """One probe image set at the box task's size, in raw pixels (what the nets see):
    ``spec`` is the reliability settings (``num_train``, ``num_test``, ``context_px``,
    ``image_seed``, ``photos``)."""
    n_train, n_test, margin, seed = (int(spec[k]) for k in ("num_train", "num_test", "context_px", "image_seed"))
    if kind == "boxes":
        train, _ = boxes.box_scenes(n_train, boxes.SIZE, margin, seed, "train")
        test, test_plus = boxes.box_scenes(n_test, boxes.SIZE, margin, seed, "test")
        return ImageSet("boxes", train, test, test_plus, margin)
    return make_image_set(kind, n_train, n_test, boxes.SIZE, margin, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0),
                          seed, spec.get("photos"))  # fmt: skip


def run_regime(regime: str, spec: dict, image_sets: dict[str, ImageSet]) -> pd.DataFrame:
    """Every seed of ``regime``: train, measure behaviour, then every metric on every image
    set. ``spec`` is the reliability settings (``behaviour``: the nets, ``posenet``)."""
    b = spec["behaviour"]
    scheme, _, split = boxnets.REGIMES[boxnets.check_regime(regime)]
    data = boxes.task_data(split, b["sizes"], int(b["data_seed"]))
    rows = []
    for seed in b["seeds"]:
        net = boxnets.build(regime, int(b["width"]), int(seed))
        boxnets.train(net, *data["train"], int(b["epochs"]), int(b["batch_size"]), float(b["lr"]), int(seed))
        does = boxnets.behaviour(net, data)
        ids = dict(regime=regime, role=boxnets.ROLES[regime], scheme=scheme, split=split, seed=int(seed),
                   **does, failed=bool(does["val_accuracy"] < float(b["min_accuracy"])))  # fmt: skip
        for name, images in image_sets.items():
            records = measure_metrics(net, list(boxnets.BoxNet.LAYERS), images, spec, int(seed))
            rows.extend({**ids, "images": name, **r} for r in records)
    return pd.DataFrame(rows)


def run_regime_job(regime: str, spec: dict, output) -> None:
    """One regime's runs (CSV ``output``, provenance beside it); on the CPU."""
    from padpos import runtime

    started = time.time()
    sets = {kind: probe_images(kind, spec) for kind in spec["behaviour"]["image_sets"]}
    rows = run_regime(regime, spec, sets).assign(study=spec.get("study", ""))
    runtime.write_result(rows[list(RUN_COLUMNS)], output, {**spec, "regime": regime}, started, "cpu",
                         image_sets={k: [len(v.train), len(v.test), v.margin] for k, v in sets.items()})  # fmt: skip
