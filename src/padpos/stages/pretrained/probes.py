"""Position information of pretrained models on natural images (docs/pretrained.md): the
three probes of the trained backbones, run on frozen published weights.

- PosENet [ISL20] (:func:`measure_posenet`): the readout of :mod:`padpos.probes.readout`
  (one 3 x 3 conv without padding + BN + sigmoid, the five targets H, V, G, HS, VS, SPC and
  MAE) on the multi-level features of every tap (``layer = "all"``, [ISL20] Table 1) and,
  with ``posenet_per_layer``, on each tap alone; scored on held-out natural images and on
  black, white and noise images. "PosENet alone" (:func:`measure_alone`) is the same
  readout on the raw RGB pixels (readout padding 0), [ISL20] Table 1's "PosENet" row.
- PPP [LIN23] (:func:`measure_ppp`): :func:`padpos.probes.pattern.accumulate_ppp` on
  the held-out crops against the same crops with real context (all the context the images
  have, on every tap's stride grid). Where a tap's receptive field needs more context than
  that, its reference is approximate and its rows say so (``exact_reference`` False).
- the location (quadrant) test [KAY20] (:func:`measure_location`): each image in the
  top-left or the bottom-right of a canvas of the mean colour, a linear head on the
  global-max-pooled frozen features of each tap (:mod:`padpos.probes.location`, as the
  reliability and fconv_location stages), the two placements a multiple of the model's total stride apart.

Every probe sees the model with its own normalisation and, for a what-if padding, with
that scheme swapped in (weights unchanged). Computed on a CUDA GPU when one is present.
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from padpos import runtime
from padpos.stages.pretrained.catalog import ALONE, DEFAULTS, NATIVE, parse_model
from padpos.probes.location import corner_offset  # noqa: F401  (re-exported)
from padpos.specs import with_defaults


# ---------------------------------------------------------------- a job's inputs
def spec_with_defaults(spec: dict) -> dict:
    """A probe job's spec: the ``pretrained`` settings (defaults filled; unknown keys are an
    error naming them) + ``model``, ``padding``, ``study``; ``posenet`` (the study's readout
    settings) is passed through with its defaults."""
    from padpos.probes.readout import DEFAULTS as POSENET_DEFAULTS

    out = with_defaults(spec, {k: v for k, v in DEFAULTS.items() if k != "models"}, "pretrained",
                        extra=("study", "model", "padding", "posenet", "models"))  # fmt: skip
    out["posenet"] = {**POSENET_DEFAULTS, **out.get("posenet", {})}
    return out


def read_record(path: str | Path) -> dict:
    """A fetch record (``pretrained-fetch``'s JSON)."""
    import json

    from padpos.io import corrupt_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"fetch record {path} does not exist")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise corrupt_file(path, "fetch record", f"is not JSON ({err})") from None
    if not isinstance(record, dict) or "sha256" not in record:
        raise corrupt_file(path, "fetch record", "records no sha256")
    return record


def prepare(spec: dict, record_path, images_path, device):
    """The job's model (its cached weights, the what-if padding, on ``device``) and the
    image set normalised for it: ``(loaded, images)``."""
    from padpos.stages.pretrained.catalog import layer_override
    from padpos.stages.pretrained.images import normalised, read_images
    from padpos.stages.pretrained.weights import load_model, with_padding

    record = read_record(record_path)
    if record.get("model") != spec["model"]:
        raise ValueError(f"fetch record {record_path} is of model {record.get('model')!r}, the job's is {spec['model']!r}")
    loaded = load_model(spec["model"], record, layer_override(spec.get("layers", {}), spec["model"]))
    images = normalised(read_images(images_path), loaded.mean, loaded.std)
    loaded = with_padding(loaded, spec["padding"], spec["model"], images.size)
    loaded.model.to(device)
    loaded.facts["sha256"] = record["sha256"]
    return loaded, images


def _ids(spec: dict) -> dict:
    return {"study": spec.get("study", ""), "model": spec["model"], "library": parse_model(spec["model"]).library,
            "padding": spec["padding"]}  # fmt: skip


# ---------------------------------------------------------------- features
@torch.no_grad()
def tap_channels(model, taps: Sequence[str], x: torch.Tensor, what: str) -> dict[str, int]:
    """Channels of every tap's output on ``x``; a tap whose output is no N x C x H x W map
    (a transformer's tokens) is an error naming it."""
    from padpos.features import layer_features
    from padpos.stages.pretrained.weights import ModelError

    device = next(model.parameters()).device
    feats = layer_features(model, x.to(device), taps)
    bad = {t: tuple(f.shape) if torch.is_tensor(f) else type(f).__name__ for t, f in feats.items()
           if not (torch.is_tensor(f) and f.dim() == 4)}  # fmt: skip
    if bad:
        raise ModelError(f"{what}: tap(s) {bad} give no N x C x H x W feature map; name other taps in "
                         "config key 'pretrained.layers'")  # fmt: skip
    return {t: int(f.shape[1]) for t, f in feats.items()}


def featurizer(model, taps: Sequence[str], grid: int, batch_size: int):
    """``images -> multilevel features`` (:func:`padpos.probes.readout.multilevel_features`)
    in the images' dtype (float32 to train the readout, float64 to evaluate it, as
    ``backbone_featurizer``), ``batch_size`` images per forward pass (a large model's 256
    images at 224 px would not fit a CPU's memory)."""
    from padpos.probes.readout import multilevel_features

    models = {torch.float32: model.float().eval(), torch.float64: copy.deepcopy(model).double().eval()}
    return lambda x: multilevel_features(models[x.dtype], x, taps, grid, batch_size)


def probe_size(size: int) -> int:
    """The power of two >= ``size`` (and >= 64): a multiple of every total stride, so that the
    map sizes grow by exactly probe / stride when the input doubles (a 112 px input gives a
    ResNet's layer4 4 x 4 positions, not 3.5)."""
    return 1 << max(6, math.ceil(math.log2(size)))


def total_strides(model, taps: Sequence[str], size: int) -> dict[str, int]:
    """Input pixels per feature position of every tap, from the map sizes at two inputs."""
    from padpos.features import feature_sizes
    from padpos.stages.pretrained.weights import ModelError

    probe = probe_size(size)
    small, large = feature_sizes(model, taps, probe), feature_sizes(model, taps, 2 * probe)
    out = {}
    for t in taps:
        grown = large[t] - small[t]
        if grown <= 0 or probe % grown:
            raise ModelError(f"tap {t!r}: cannot tell its total stride (map {small[t]} at {probe} px, "
                             f"{large[t]} at {2 * probe} px); name other taps in config key 'pretrained.layers'")  # fmt: skip
        out[t] = probe // grown
    return out


# ---------------------------------------------------------------- PosENet
def _readout_rows(readout, eval_features: dict, targets, size, seed: int, layer: str, channels=None):
    from padpos.probes import readout as pn

    rows, preds = [], {}
    for kind, feats in eval_features.items():
        pred = pn.predict(readout, feats if channels is None else feats[:, channels], size)
        scores = pn.score_maps(pred, targets)
        for metric in pn.METRICS:
            for k, target in enumerate(pn.TARGETS):
                rows.append(dict(layer=layer, seed=seed, input=kind, target=target, metric=metric,
                                 value=float(scores[metric][:, k].mean())))  # fmt: skip
        preds[kind] = pred
    return rows, preds


def readout_sweep(featurize, train_x, eval_inputs: dict, readout_spec: dict, seeds, layer_slices: dict,
                  num_examples: int, padding: int = 0):
    """Train one readout per seed and per feature set of ``layer_slices`` (name -> channel
    slice of the multi-level features; None = all) and score it on every input type.
    Returns (long rows, example predictions of the first seed's first feature set)."""
    from padpos.probes import readout as pn

    size = tuple(train_x.shape[-2:])
    targets = pn.position_targets(size[0], size[1], readout_spec["stripe_periods"])
    train_f = featurize(train_x)
    eval_f = {kind: featurize(x.double()) for kind, x in eval_inputs.items()}
    rows, examples = [], {"targets": targets.numpy(), "target_names": np.array(pn.TARGETS)}
    for seed in seeds:
        for layer, channels in layer_slices.items():
            readout = pn.train_readout(
                train_f if channels is None else train_f[:, channels], targets, padding=padding,
                epochs=readout_spec["epochs"], batch_size=readout_spec["batch_size"], lr=readout_spec["lr"],
                momentum=readout_spec["momentum"], weight_decay=readout_spec["weight_decay"], seed=int(seed),
            )  # fmt: skip
            new, preds = _readout_rows(readout, eval_f, targets, size, int(seed), layer, channels)
            rows.extend(new)
            if len(examples) == 2:  # the first seed's first feature set: the examples figure
                examples.update({f"pred_{k}": p[:num_examples].float().cpu().numpy() for k, p in preds.items()})
    return pd.DataFrame(rows), examples


def _eval_inputs(images, spec: dict) -> dict:
    from padpos.probes.readout import evaluation_inputs

    p = spec["posenet"]
    return evaluation_inputs(images.test, images.mean, images.std, p["noise_images"], p["noise_std"], int(spec["seeds"][0]))


def measure_posenet(loaded, images, spec: dict):
    """PosENet on the frozen model: rows ``layer, seed, input, target, metric, value`` (layer
    ``all`` = the multi-level features of every tap, then each tap alone with
    ``posenet_per_layer``) and the examples of the multi-level readout."""
    from padpos.probes.readout import grid_size

    p = spec["posenet"]
    grid = grid_size(images.size, p["grid"], p["grid_floor"])
    channels = tap_channels(loaded.model, loaded.taps, images.train[:1], f"pretrained model {spec['model']!r}")
    slices, start = {"all": None}, 0
    for tap, c in channels.items():
        if spec["posenet_per_layer"]:
            slices[tap] = slice(start, start + c)
        start += c
    featurize = featurizer(loaded.model, loaded.taps, grid, int(spec["batch_size"]))
    rows, examples = readout_sweep(featurize, images.train, _eval_inputs(images, spec), p, spec["seeds"], slices,
                                   p["num_examples"])  # fmt: skip
    return rows, examples, {"grid": grid, "channels": channels}


def measure_alone(images, spec: dict):
    """"PosENet alone": the readout (padding 0) on the raw RGB pixels in [0, 1] resized to
    the grid; the same inputs and targets as the models'."""
    from padpos.data.pixels import uint8_to_pixels
    from padpos.probes.readout import INPUTS, grid_size, resize_to_grid, synthetic_images

    p = spec["posenet"]
    grid = grid_size(images.size, p["grid"], p["grid_floor"])
    device = runtime.select_device()
    pixels = {"natural": uint8_to_pixels(images.pixels["test"])}
    for kind in INPUTS[1:]:
        pixels[kind] = synthetic_images(kind, images.size, p["noise_images"], p["noise_std"], int(spec["seeds"][0]))
    rows, examples = readout_sweep(lambda x: resize_to_grid(x.to(device), grid), uint8_to_pixels(images.pixels["train"]),
                                   pixels, p, spec["seeds"], {"rgb": None}, p["num_examples"])  # fmt: skip
    return rows, examples, {"grid": grid}


# ---------------------------------------------------------------- PPP
def tap_geometry(model, taps: Sequence[str], size: int, context: int, strides: dict) -> tuple[dict, int]:
    """Each tap's :func:`padpos.features.layer_geometry`, measured on probes of at most
    ``cap`` px: just enough to tell whether ``context`` px of real context cover the tap's
    receptive field. A field wider than the probe needs more than ``context`` (the
    field's radius exceeds cap / 2 - 2 strides > context) and gets None: its reference is
    approximate, and a deep ResNet's field (~1500 px for ResNet-152) is never probed at
    2048 px (tens of GB of gradients). Returns (tap -> geometry or None, cap)."""
    from padpos.features import layer_geometry

    start = probe_size(size)  # a multiple of every stride, and the maps exist
    cap = max(start, 1 << math.ceil(math.log2(2 * (context + 2 * max(strides.values())) + 1)))
    out = {}
    for tap in taps:
        try:
            out[tap] = layer_geometry(model, [tap], start_size=start, max_size=cap)[tap]
        except RuntimeError:  # its field does not fit in the cap
            out[tap] = None
    return out, cap


def measure_ppp(loaded, images, spec: dict):
    """PPP of every tap on the held-out crops: rows ``layer, metric, value`` with the tap's
    ``stride``, ``rf_radius``, the context used (``context_px``), the context its receptive
    field needs (``context_needed_px``; empty when the field is wider than the probe of
    :func:`tap_geometry`) and ``exact_reference`` (needed <= used), and the heat maps (npz arrays)."""
    from padpos.features import feature_sizes
    from padpos.probes.pattern import accumulate_ppp, layer_metrics
    from padpos.stages.pretrained.images import ImagesError

    model, taps = loaded.model, loaded.taps
    strides = total_strides(model, taps, images.size)
    step = math.lcm(*strides.values())
    margin = step * (images.context_px // step)
    if margin == 0:
        raise ImagesError(f"config key 'pretrained.images.context_px': {images.context_px} px of context is less "
                          f"than the total stride {step} of model {spec['model']!r}'s taps; PPP needs at least {step}")  # fmt: skip
    geometry, cap = tap_geometry(model, taps, images.size, margin, strides)
    sizes = feature_sizes(model, taps, images.size)
    x_plus = images.context(margin)
    bs = int(spec["batch_size"])
    batches = ((images.test[i : i + bs], x_plus[i : i + bs]) for i in range(0, len(images.test), bs))
    stats = accumulate_ppp(model, batches, taps, margin, strides)
    rows, arrays = [], {"model": np.array(spec["model"]), "padding": np.array(spec["padding"]),
                        "layers": np.array(list(taps)), "margin_px": np.array(margin)}  # fmt: skip
    for i, tap in enumerate(taps):
        g, st, s = geometry[tap], stats[tap], strides[tap]
        need = g.margin(images.size, sizes[tap]) if g is not None else math.nan
        exact = bool(need <= margin)  # NaN (a field wider than the probe): not exact
        facts = dict(stride=s, rf_radius=g.rf_radius if g is not None else math.nan, context_px=margin,
                     context_needed_px=need, exact_reference=exact)  # fmt: skip
        rows += [dict(layer=tap, metric=m, value=v, **facts) for m, v in layer_metrics(st, s).items()]
        arrays.update({f"heat_{i}": st.heat_map().cpu().numpy(), f"feature_std_{i}": np.array(math.sqrt(st.feature_variance())),
                       f"stride_{i}": np.array(s), f"exact_{i}": np.array(exact)})  # fmt: skip
    return pd.DataFrame(rows), arrays, {"margin_px": margin, "num_images": len(images.test), "geometry_probe_px": cap}


# ---------------------------------------------------------------- location test
def measure_location(loaded, images, spec: dict):
    """The quadrant test per tap: rows ``layer, metric, value`` (``location_accuracy`` in %,
    chance 50, and ``location_p_value``, one-sided binomial against 50 %), no arrays, and
    the canvas geometry."""
    from padpos.probes.location import corner_canvases, location_test, pooled_features

    model, taps, bs = loaded.model, loaded.taps, int(spec["batch_size"])
    step = math.lcm(*total_strides(model, taps, images.size).values())
    offset = corner_offset(images.size, step)
    xtr, ytr = corner_canvases(images.train, offset)
    xte, yte = corner_canvases(images.test, offset)
    ftr, fte = pooled_features(model, taps, xtr, bs), pooled_features(model, taps, xte, bs)
    rows = []
    for tap in taps:
        accuracy, p = location_test((ftr[tap], ytr), (fte[tap], yte))
        rows += [dict(layer=tap, metric="location_accuracy", value=accuracy),
                 dict(layer=tap, metric="location_p_value", value=p)]  # fmt: skip
    return pd.DataFrame(rows), None, {"offset_px": offset, "canvas_px": int(xtr.shape[-1]), "stride": step}


# ---------------------------------------------------------------- jobs
PROBES = {"posenet": measure_posenet, "ppp": measure_ppp, "location": measure_location}


def run_probe(probe: str, spec: dict, record, images_path, output, extra_output=None, photo_check=None) -> None:
    """One probe of one model x padding: writes the per-run CSV ``output`` (provenance
    beside it) and, for PosENet and PPP, ``extra_output`` (examples / heat maps, npz).
    Every row is flagged ``failed`` when the model's ``photo_check``
    (:mod:`padpos.stages.pretrained.photocheck`) failed."""
    from padpos.stages.pretrained.photocheck import read_verdict

    started = time.time()
    verdict = read_verdict(photo_check) if photo_check is not None else None
    spec = spec_with_defaults(spec)
    device = runtime.select_device()
    runtime.ieee_float32(device)
    loaded, images = prepare(spec, record, images_path, device)
    rows, arrays, facts = PROBES[probe](loaded, images, spec)
    if probe == "posenet":
        arrays["images"] = images.pixels["test"][: spec["posenet"]["num_examples"]].float().div(255).numpy()
        arrays["meta"] = np.array(_examples_meta(spec))
    _write(rows, _ids(spec), output, spec, started, device, arrays, extra_output, failed=verdict is False,
           **facts, **loaded.facts, images=str(images_path), weights_record=str(record),
           photo_check="not run" if photo_check is None else {None: "not applicable", True: "passed", False: "failed"}[verdict])  # fmt: skip


def run_alone(spec: dict, images_path, output, extra_output) -> None:
    """PosENet alone on the stage's images: the per-run CSV (model ``posenet_alone``,
    layer ``rgb``) and its example predictions."""
    from padpos.stages.pretrained.images import normalised, read_images
    from padpos.stages.pretrained.weights import IMAGENET_MEAN, IMAGENET_STD

    started = time.time()
    spec = spec_with_defaults({**spec, "model": ALONE, "padding": NATIVE})
    images = normalised(read_images(images_path), IMAGENET_MEAN, IMAGENET_STD)
    rows, arrays, facts = measure_alone(images, spec)
    arrays["images"] = images.pixels["test"][: spec["posenet"]["num_examples"]].float().div(255).numpy()
    arrays["meta"] = np.array(_examples_meta(spec, readout_padding=0))
    ids = {"study": spec.get("study", ""), "model": ALONE, "library": "none", "padding": NATIVE}
    _write(rows, ids, output, spec, started, runtime.select_device(), arrays, extra_output, **facts,
           images=str(images_path), readout_padding=0, input="raw RGB pixels in [0, 1]")  # fmt: skip


def _examples_meta(spec: dict, **extra) -> str:
    import json

    # the keys padpos.stages.posenet.figures.plot_examples labels its rows with
    return json.dumps({"arch": spec["model"], "padding": spec["padding"], "seed": int(spec["seeds"][0]), **extra})


def _write(rows: pd.DataFrame, ids: dict, output, spec, started, device, arrays, extra_output, failed=False,
           **facts) -> None:
    from padpos.io import atomic_path

    for i, (key, value) in enumerate(ids.items()):
        rows.insert(i, key, value)
    rows["failed"] = bool(failed)  # True: the model failed its photo check (weights not as published)
    if extra_output is not None:
        with atomic_path(extra_output) as tmp:
            with open(tmp, "wb") as fh:  # np.savez would append .npz to a temporary name
                np.savez_compressed(fh, **arrays)
    runtime.write_result(rows, output, spec, started, device, **facts)


__all__ = [
    "measure_alone",
    "measure_location",
    "measure_posenet",
    "measure_ppp",
    "run_alone",
    "run_probe",
    "spec_with_defaults",
]
