"""PosENet [ISL20]: how much absolute position a linear-ish readout decodes from features.

A frozen backbone's multi-level features (``padpos.models.feature_layers``) are
each bilinearly resized to a common grid and concatenated. The readout is ONE
3 x 3 conv (no padding) + BatchNorm + Sigmoid whose output is bilinearly
upsampled to the image size; its 5 output channels are 5 independent readouts,
one per position target (H, V, G, HS, VS). It is trained with pixel-wise MSE and
scored with SPC (Spearman rank correlation per image, averaged) and MAE on
held-out natural images and on black, white and noise images.

"PosENet alone" is the same readout on the raw RGB image (pixel values by default,
``posenet.alone_input``; or normalised like the backbones' inputs) resized
to the grid, with its own zero padding 0, 1 or 2: with padding 0 a readout has
no position cue but the content; with padding the border itself is one.

The backbone is frozen, so features are extracted once and cached; only the
tiny readout is trained (seconds on a CPU). The commands compute on a CUDA GPU
when one is present (``padpos.runtime.select_device``): features, readout and
its float64 evaluation all stay on that device. Project choices (documented in
docs/posenet.md): grid size for small images, antialiased resizing, the pixel
definition of the synthetic inputs, and the tie tolerance of SPC.

Length: the targets, the readout, its training and its scoring are one probe, read top to bottom.
"""

from __future__ import annotations

import copy
import json
import math
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from padpos import runtime
from padpos.data.pixels import normalise_pixels, to_pixels
from padpos.io import atomic_path, write_csv, write_json
from padpos.names import POSENET_INPUTS, POSENET_METRICS, POSENET_TARGETS
from padpos.optim import sgd_step
from padpos.specs import with_defaults

TARGETS, INPUTS, METRICS = POSENET_TARGETS, POSENET_INPUTS, POSENET_METRICS
ALONE_PADDINGS: tuple[int, ...] = (0, 1, 2)

# Settings of one readout (config section ``posenet``; defaults = schema defaults).
DEFAULTS = {
    "epochs": 15,
    "batch_size": 32,
    "lr": 0.1,
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "num_train_images": 500,
    "num_test_images": 200,
    "grid": None,
    "grid_floor": 8,
    "stripe_periods": 2.5,
    "noise_images": 8,
    "noise_std": 0.25,
    "num_examples": 4,
    "alone_input": "pixels",
}
# settings that only "PosENet alone" reads (kept out of the backbone runs' specs)
ALONE_ONLY_KEYS: tuple[str, ...] = ("alone_paddings", "alone_input")
ALONE_INPUTS: tuple[str, ...] = ("normalised", "pixels")

# Predictions are compared in float64: values closer than this are ties, so that
# the rounding noise of upsampling a constant map is not ranked as structure.
SPC_TIE_TOL = 1e-9


# ---------------------------------------------------------------- targets
def _minmax(t: torch.Tensor) -> torch.Tensor:
    return (t - t.min()) / (t.max() - t.min())


def position_targets(
    height: int, width: int | None = None, periods: float = 2.5
) -> torch.Tensor:
    """The five position maps (``TARGETS`` order), 5 x height x width, each min-max in [0, 1].

    H: 0 -> 1 left to right. V: 0 -> 1 top to bottom. G: isotropic Gaussian at the
    centre, sigma = half the image width. HS: horizontal stripes
    0.5 + 0.5 cos(2 pi (y + 0.5) / P), varying along y; VS: the same along x; P = side /
    ``periods``. The stripes are sampled at pixel centres (y + 0.5), as the official
    ground-truth PNGs are; the gradients and the Gaussian are symmetric about the
    image centre either way.
    """
    width = height if width is None else width
    if height < 2 or width < 2:
        raise ValueError(f"position targets need at least 2 x 2 pixels, got {height} x {width}")
    y = torch.arange(height, dtype=torch.float64)[:, None].expand(height, width)
    x = torch.arange(width, dtype=torch.float64)[None, :].expand(height, width)
    sigma = width / 2
    gauss = torch.exp(-((x - (width - 1) / 2) ** 2 + (y - (height - 1) / 2) ** 2) / (2 * sigma**2))
    maps = [
        x,
        y,
        gauss,
        0.5 + 0.5 * torch.cos(2 * math.pi * (y + 0.5) / (height / periods)),
        0.5 + 0.5 * torch.cos(2 * math.pi * (x + 0.5) / (width / periods)),
    ]
    return torch.stack([_minmax(m) for m in maps]).float()


# ---------------------------------------------------------------- SPC and MAE
def tie_ranks(x: torch.Tensor, tol: float = 0.0) -> torch.Tensor:
    """1-based ranks along the last dim (float64); ties (sorted neighbours closer
    than ``tol``, chained) get the average of their ranks, like scipy's 'average'."""
    n = x.shape[-1]
    flat = x.reshape(-1, n).double()
    rows = flat.shape[0]
    values, order = flat.sort(dim=-1)
    starts = torch.ones_like(values, dtype=torch.bool)
    starts[:, 1:] = (values[:, 1:] - values[:, :-1]) > tol
    # one id per tie group, unique across rows
    f64 = {"dtype": torch.float64, "device": flat.device}
    group = starts.long().cumsum(-1) - 1 + torch.arange(rows, device=flat.device)[:, None] * n
    position = torch.arange(1, n + 1, **f64).expand(rows, n)
    total = torch.zeros(rows * n, **f64).index_add_(0, group.flatten(), position.flatten())
    count = torch.zeros(rows * n, **f64).index_add_(0, group.flatten(), torch.ones(rows * n, **f64))
    sorted_ranks = (total / count.clamp(min=1))[group]
    ranks = torch.empty_like(sorted_ranks).scatter_(-1, order, sorted_ranks)
    return ranks.reshape(x.shape)


def spearman(pred: torch.Tensor, target: torch.Tensor, tol: float = SPC_TIE_TOL) -> torch.Tensor:
    """Spearman rank correlation of ``pred`` and ``target`` over their last dim.

    Leading dims are batch dims (broadcast). A constant row (no ranking at all)
    gives 0, not NaN: it carries no position information.
    """
    pred, target = torch.broadcast_tensors(pred.double(), target.double())
    ra, rb = tie_ranks(pred, tol), tie_ranks(target, tol)
    ra = ra - ra.mean(-1, keepdim=True)
    rb = rb - rb.mean(-1, keepdim=True)
    den = torch.sqrt((ra * ra).sum(-1) * (rb * rb).sum(-1))
    num = (ra * rb).sum(-1)
    return torch.where(den > 0, num / den.clamp(min=1e-300), torch.zeros_like(num))


def score_maps(pred: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per image and target: ``spc`` and ``mae`` (N x 5) of predictions N x 5 x H x W
    against the targets 5 x H x W."""
    p = pred.flatten(2)
    t = targets.to(pred.device).flatten(1).expand_as(p)
    return {"spc": spearman(p, t), "mae": (p.double() - t.double()).abs().mean(-1)}


# ---------------------------------------------------------------- features
def grid_size(image_size: int, grid: int | None = None, floor: int = 8) -> int:
    """Side of the common feature grid: ``grid`` if given, else 28 per 224 input
    pixels (the paper's 28 x 28 for 224 inputs), but at least ``floor``."""
    if grid is not None:
        return int(grid)
    return max(int(floor), round(28 * image_size / 224))


def resize_to_grid(x: torch.Tensor, grid: int) -> torch.Tensor:
    """Bilinear resize to grid x grid; antialiased, so that a downsampled map still
    sees its border pixels (as an image resize with PIL does)."""
    if tuple(x.shape[-2:]) == (grid, grid):
        return x
    return F.interpolate(x, size=(grid, grid), mode="bilinear", align_corners=False, antialias=True)


@torch.no_grad()
def multilevel_features(
    model: nn.Module,
    images: torch.Tensor,
    layers: Sequence[str],
    grid: int,
    batch_size: int = 256,
) -> torch.Tensor:
    """Features of the frozen ``model`` at ``layers``, each resized to the grid and
    concatenated along channels: N x sum(C_l) x grid x grid (the model's dtype and
    device; ``images`` may be elsewhere, each batch is moved to the model)."""
    from padpos.features import layer_features

    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(images), batch_size):
        feats = layer_features(model, images[start : start + batch_size].to(device), layers)
        out.append(torch.cat([resize_to_grid(feats[name], grid) for name in layers], 1))
    return torch.cat(out)


def backbone_featurizer(model: nn.Module, layers: Sequence[str], grid: int):
    """``images -> multilevel features`` in the images' dtype: float32 for training the
    readout, float64 for evaluation (a float64 copy of the backbone; see ``predict``);
    on the model's device."""
    models = {torch.float32: model.float().eval(), torch.float64: copy.deepcopy(model).double().eval()}
    return lambda x: multilevel_features(models[x.dtype], x, layers, grid)


# ---------------------------------------------------------------- readout
class PosENet(nn.Module):
    """ONE 3 x 3 conv (zero padding ``padding``; 0 in [ISL20]) + BatchNorm + Sigmoid.

    ``forward(x, size)`` upsamples the prediction bilinearly to ``size``. Without a
    hidden layer, its ``num_targets`` output channels are independent readouts.
    """

    def __init__(self, in_channels: int, padding: int = 0, num_targets: int = len(TARGETS)):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, num_targets, 3, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(num_targets)

    def forward(self, x: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        y = torch.sigmoid(self.bn(self.conv(x)))
        if size is not None:
            y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
        return y


def readout_loss(pred: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Pixel-wise MSE with one loss per target readout: the sum over targets of each
    target's mean squared error (N x T x H x W predictions, T x H x W targets).

    Each output channel is an independent readout, trained as if alone (as the
    official code trains one readout per target); a mean over the T channels would
    scale every readout's gradient by 1/T (an effective lr of 0.02 instead of 0.1)."""
    return (pred - targets.expand_as(pred)).pow(2).mean(dim=(0, 2, 3)).sum()


def train_readout(
    features: torch.Tensor,
    targets: torch.Tensor,
    padding: int = 0,
    epochs: int = 15,
    batch_size: int = 32,
    lr: float = 0.1,
    momentum: float = 0.9,
    weight_decay: float = 1e-4,
    seed: int = 0,
    progress: bool = False,
) -> PosENet:
    """Train a :class:`PosENet` on cached ``features`` (N x C x g x g) to predict
    ``targets`` (5 x H x W, the same for every image): pixel-wise MSE, one loss per
    target (:func:`readout_loss`), SGD with momentum, lr x 0.1 after 2/3 of the steps.
    Trains on the features' device;
    returns the readout there, in eval mode."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)  # on the CPU: the same batches on any device
    device = features.device
    # initialised on the CPU, then moved: the same start on every device
    readout = PosENet(features.shape[1], padding, targets.shape[0]).to(device)
    targets = targets.to(device)
    params = [p for p in readout.parameters() if p.requires_grad]
    buffers = [torch.zeros_like(p) for p in params]
    drop_at = round(2 / 3 * epochs * math.ceil(len(features) / batch_size))
    size = tuple(targets.shape[-2:])
    step = 0
    readout.train()
    for _ in tqdm(range(epochs), desc="posenet readout", disable=not progress, file=sys.stderr):
        for idx in torch.randperm(len(features), generator=gen).split(batch_size):
            if len(idx) < 2:  # BatchNorm needs more than one value per channel
                continue
            pred = readout(features[idx.to(device)], size)
            loss = readout_loss(pred, targets)
            readout.zero_grad(set_to_none=True)
            loss.backward()
            sgd_step(params, buffers, lr if step < drop_at else 0.1 * lr, momentum, weight_decay)
            step += 1
    return readout.eval()


@torch.no_grad()
def predict(readout: PosENet, features: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Predictions N x 5 x H x W in float64 (readout and upsampling in float64).

    float64 keeps a map that is constant in exact arithmetic constant to ~1e-15,
    so that SPC (ties below SPC_TIE_TOL) does not rank float32 rounding noise.
    """
    exact = copy.deepcopy(readout).double().eval()
    native = exact(features.double())
    return F.interpolate(native, size=size, mode="bilinear", align_corners=False)


def evaluate_readout(
    readout: PosENet, features: torch.Tensor, targets: torch.Tensor
) -> dict[tuple[str, str], float]:
    """``{(target, metric): mean over images}`` for metric in ``METRICS``."""
    scores = score_maps(predict(readout, features, tuple(targets.shape[-2:])), targets)
    return {
        (name, metric): float(scores[metric][:, k].mean())
        for metric in METRICS
        for k, name in enumerate(TARGETS)
    }


# ---------------------------------------------------------------- synthetic inputs
def synthetic_images(kind: str, size: int, n_noise: int = 8, noise_std: float = 0.25, seed: int = 0):
    """Pixel-space images in [0, 1], N x 3 x size x size: ``black`` (one image of 0),
    ``white`` (one image of 1) or ``noise`` (``n_noise`` images, i.i.d. per pixel
    and channel N(0.5, noise_std^2) clipped to [0, 1])."""
    if kind == "black":
        return torch.zeros(1, 3, size, size)
    if kind == "white":
        return torch.ones(1, 3, size, size)
    if kind == "noise":
        gen = torch.Generator().manual_seed(seed)
        noise = 0.5 + noise_std * torch.randn(n_noise, 3, size, size, generator=gen)
        return noise.clamp(0.0, 1.0)
    raise ValueError(f"unknown synthetic input {kind!r}; allowed: black, white, noise")


def evaluation_inputs(
    natural: torch.Tensor,
    mean,
    std,
    n_noise: int,
    noise_std: float,
    seed: int = 0,
    pixels: bool = False,
) -> dict[str, torch.Tensor]:
    """Evaluation images per input type (``INPUTS`` order): the normalised ``natural``
    images and the synthetic ones normalised like them; with ``pixels``, all in [0, 1]
    pixel values instead (the synthetic ones exact: black is exactly 0)."""
    size = natural.shape[-1]
    out = {"natural": to_pixels(natural, mean, std) if pixels else natural}
    for kind in INPUTS[1:]:
        images = synthetic_images(kind, size, n_noise, noise_std, seed)
        out[kind] = images if pixels else normalise_pixels(images, mean, std)
    return out


# ---------------------------------------------------------------- one run
def spec_with_defaults(spec: dict) -> dict:
    """Fill readout settings missing from ``spec``; an unknown key is an error naming it."""
    ids = ("study", "arch", "padding", "seed", "readout_padding")
    return with_defaults(spec, DEFAULTS, "posenet", extra=ALONE_ONLY_KEYS + ids)


# the same image subset for every run of a study, whatever the run's seed
SUBSET_SEED = 0


def _split_images(manifest: str | Path, split: str, limit: int | None):
    """A fixed random subset of ``limit`` normalised images of ``split`` (all if None),
    and the data set's mean / std. Random, not the first ones: an ImageFolder split
    is sorted by class."""
    from padpos.data import load_split

    ds = load_split(manifest, split)
    n = len(ds) if limit is None else min(int(limit), len(ds))
    order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(SUBSET_SEED))[:n]
    images = torch.stack([ds[int(i)][0] for i in order])
    return images, ds.mean, ds.std


def readout_experiment(
    featurize,
    train_images: torch.Tensor,
    eval_images: dict[str, torch.Tensor],
    spec: dict,
    padding: int,
    seed: int,
) -> tuple[pd.DataFrame, dict]:
    """Train one readout on ``featurize(train_images)`` and score it on every input type.

    Returns the long table (target, input, metric, value) and the example
    predictions (float32 arrays) for figures.
    """
    size = tuple(train_images.shape[-2:])
    targets = position_targets(size[0], size[1], spec["stripe_periods"])
    readout = train_readout(
        featurize(train_images),
        targets,
        padding=padding,
        epochs=spec["epochs"],
        batch_size=spec["batch_size"],
        lr=spec["lr"],
        momentum=spec["momentum"],
        weight_decay=spec["weight_decay"],
        seed=seed,
        progress=True,
    )
    rows, examples = [], {"targets": targets.numpy(), "target_names": np.array(TARGETS)}
    for kind, images in eval_images.items():
        # evaluation in float64 end to end (see ``predict``)
        pred = predict(readout, featurize(images.double()), size)
        scores = score_maps(pred, targets)
        for metric in METRICS:
            for k, name in enumerate(TARGETS):
                rows.append((name, kind, metric, float(scores[metric][:, k].mean())))
        examples[f"pred_{kind}"] = pred[: spec["num_examples"]].float().cpu().numpy()
    return pd.DataFrame(rows, columns=["target", "input", "metric", "value"]), examples


def _write_run(table: pd.DataFrame, ids: dict, examples: dict, out: dict, provenance: dict) -> None:
    for i, (key, value) in enumerate(ids.items()):
        table.insert(i, key, value)
    write_csv(out["output"], table)
    with atomic_path(out["predictions"]) as tmp:
        with open(tmp, "wb") as fh:  # np.savez would append .npz to a temporary name
            np.savez_compressed(fh, **examples, meta=json.dumps(ids))
    write_json(out["provenance"], provenance)


def run_backbone_readout(spec: dict, checkpoint: str | Path, manifest: str | Path, out: dict) -> None:
    """PosENet on the frozen backbone in ``checkpoint``; writes out['output'] (CSV),
    out['predictions'] (.npz) and out['provenance'] (JSON)."""
    from padpos.models import feature_layers, load_checkpoint, training_flags

    started = time.time()
    spec = spec_with_defaults(spec)
    device = runtime.select_device()
    model, meta = load_checkpoint(checkpoint)
    model.to(device)
    for key in ("arch", "padding"):
        if key in spec and spec[key] != meta[key]:
            raise ValueError(f"checkpoint {checkpoint} is {key}={meta[key]!r}, spec says {spec[key]!r}")
    train_x, mean, std = _split_images(manifest, "train", spec["num_train_images"])
    test_x, _, _ = _split_images(manifest, "test", spec["num_test_images"])
    grid = grid_size(train_x.shape[-1], spec["grid"], spec["grid_floor"])
    layers = feature_layers(meta["arch"])
    images = evaluation_inputs(test_x, mean, std, spec["noise_images"], spec["noise_std"], spec["seed"])
    table, examples = readout_experiment(
        backbone_featurizer(model, layers, grid), train_x, images, spec, 0, spec["seed"]
    )
    examples["images"] = to_pixels(test_x[: spec["num_examples"]], mean, std).clamp(0, 1).numpy()
    ids = {"study": spec.get("study", ""), "arch": meta["arch"], "padding": meta["padding"],
           "seed": spec["seed"], **training_flags([meta], [checkpoint])}  # fmt: skip
    _write_run(table, ids, examples, out, runtime.provenance(spec, started, device, grid=grid, layers=layers))


def run_alone_readout(spec: dict, manifest: str | Path, out: dict) -> None:
    """"PosENet alone": the readout on raw RGB resized to the grid, with its own zero
    padding ``spec['readout_padding']``; writes the same three files.

    ``spec['alone_input']``: 'normalised' (the data set's normalisation, as the
    backbones see images: zero padding = the mean colour) or 'pixels' ([0, 1]
    pixel values: zero padding = black).
    """

    started = time.time()
    spec = spec_with_defaults(spec)
    device = runtime.select_device()
    padding, space = int(spec["readout_padding"]), spec["alone_input"]
    if space not in ALONE_INPUTS:
        raise ValueError(f"posenet.alone_input {space!r} is not allowed; allowed: {', '.join(ALONE_INPUTS)}")
    pixels = space == "pixels"
    train_x, mean, std = _split_images(manifest, "train", spec["num_train_images"])
    test_x, _, _ = _split_images(manifest, "test", spec["num_test_images"])
    grid = grid_size(train_x.shape[-1], spec["grid"], spec["grid_floor"])
    images = evaluation_inputs(
        test_x, mean, std, spec["noise_images"], spec["noise_std"], spec["seed"], pixels
    )
    train_x = to_pixels(train_x, mean, std) if pixels else train_x
    table, examples = readout_experiment(
        lambda x: resize_to_grid(x.to(device), grid), train_x, images, spec, padding, spec["seed"]
    )
    examples["images"] = to_pixels(test_x[: spec["num_examples"]], mean, std).clamp(0, 1).numpy()
    ids = {"study": spec.get("study", ""), "readout_padding": padding, "seed": spec["seed"]}
    _write_run(table, ids, examples, out, runtime.provenance(spec, started, device, grid=grid))
