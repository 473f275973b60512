"""Location (quadrant) test of Kayhan & van Gemert 2020 (docs/protocols.md 4b).

A 56 x 56 image is pasted on a 120 x 120 black canvas, at the top-left (class 0)
or the bottom-right (class 1). Global max pooling makes the net's output blind
to where a pattern sits, so the class can only be read from how far the image
is from the border, which padding makes visible. An extra border of B pixels
(the scheme's own padding, added to the first conv's pad) moves the image away
from the border; the test accuracy as a function of B shows how far into the
image the border's position information reaches (50 % = none).

As in the official code every source image appears in both classes (once per
corner), so the content carries no label information. Unlike the official code
(which trains, validates and tests on the same 2000 canvases), train and test
canvases come from disjoint source images: the train and test splits of the
study's data set.
"""

from __future__ import annotations

import copy
import hashlib
import sys
import time

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from padpos.names import LOCATION_INITS
from padpos.padding import convert_padding, set_extra_border
from padpos.probes.location import corner_canvases, corner_offset, feature_scaling, two_way_linear_head
from padpos.specs import describe_scale as scale_description
from padpos.specs import with_defaults
from padpos.stats import flag_failed_runs

PATCH = 56  # [KAY20]'s image size; the second placement 64 px down and right
CANVAS = PATCH + corner_offset(PATCH)  # 120
INITS = LOCATION_INITS

# the official code's setting (ImageNet val: every 50th image; SGD with Nesterov)
PAPER = {
    "borders": [0, 16, 32, 64, 128, 256, 512],
    "num_train": 1000,
    "num_test": 1000,
    "epochs": 30,
    "width": 64,
    "batch_size": 8,
    "lr": 1e-3,
    "seeds": [0],
}
SGD = {"momentum": 0.9, "nesterov": True, "weight_decay": 5e-5}
BN_BATCH = 64  # canvases per batch when BatchNorm statistics are estimated
# % training accuracy below which a scratch-trained net did not fit its own canvases (chance 50)
MIN_ACCURACY = 60.0
# % training accuracy from which a scratch-trained net has learned its canvases (converged)
CONVERGED_TRAIN_ACC = 90.0
# the fconv.location settings of a job (the schema's defaults: the official setting)
DEFAULTS = {**PAPER, "min_accuracy": MIN_ACCURACY, "converged_train_acc": CONVERGED_TRAIN_ACC}


def check_init(init: str) -> str:
    if init not in INITS:
        raise ValueError(f"unknown initialisation {init!r}; allowed: {', '.join(INITS)}")
    return init


# ---------------------------------------------------------------- data
SUBSET_STREAMS = {"train": 41, "test": 42}


def source_images(manifest_path, split: str, n: int, size: int = PATCH) -> torch.Tensor:
    """``n`` images of a split of the study's data set as float RGB in [0, 1], ``size``
    x ``size``: a seeded random subset (never the first n: an ImageFolder split is
    sorted by class), the same for every network. Synthetic scenes are rendered at
    that size, other data sets' images are un-normalised and resized."""
    from padpos import data

    manifest = data.read_manifest(manifest_path)
    available = int(manifest["splits"][split]["size"])
    if n > available:
        key = "num_train" if split == "train" else "num_test"
        raise ValueError(
            f"config key 'fconv.location.{key}': {n} source images asked for, the {split} split "
            f"of {manifest_path} has {available}"
        )
    chosen = data.random_subset(available, n, int(manifest["seed"]), SUBSET_STREAMS[split])
    if manifest["dataset"] == "synthetic":
        images, _ = data.render_scenes(int(manifest["seed"]), split, chosen.tolist(), size)
        return data.uint8_to_pixels(images)
    ds = data.load_split(manifest_path, split)
    images = torch.stack([data.to_pixels(ds[int(i)][0], ds.mean, ds.std) for i in chosen])
    images = images.clamp(0.0, 1.0)
    if images.shape[-1] != size:
        images = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True)
    return images.clamp(0.0, 1.0)


def paste_on_canvas(patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every 56 px patch once at the top-left (class 0) and once at the bottom-right
    (class 1) of a black canvas: (2N x 3 x 120 x 120, labels), the canvases of
    :func:`padpos.probes.location.corner_canvases`."""
    if tuple(patches.shape[-2:]) != (PATCH, PATCH):
        raise ValueError(f"location canvases take {PATCH} px patches, got {tuple(patches.shape[-2:])}")
    return corner_canvases(patches, CANVAS - PATCH)


def image_digests(images: torch.Tensor) -> set[str]:
    """One digest per image (exact pixel values), to check that splits share no image."""
    return {hashlib.sha1(x.contiguous().numpy().tobytes()).hexdigest() for x in images}


def location_data(manifest_path, num_train: int, num_test: int) -> dict:
    """Train and test canvases from the train and the test split: disjoint sources."""
    train = source_images(manifest_path, "train", num_train)
    test = source_images(manifest_path, "test", num_test)
    shared = image_digests(train) & image_digests(test)
    if shared:  # a data set whose splits overlap would reopen the official code's mistake
        raise ValueError(f"{len(shared)} source images are in both the train and the test split")
    return {"train": paste_on_canvas(train), "test": paste_on_canvas(test)}


# ---------------------------------------------------------------- network
def location_resnet18(padding: str, width: int = 64) -> nn.Module:
    """torchvision's ResNet-18 layout with base width ``width`` (64 = torchvision's
    own; stages w, 2w, 4w, 8w), the official code's changes (max-pool kernel 2,
    global max pooling instead of average pooling, a 2-way head) and ``padding``
    on every padded conv and pooling layer."""
    from torchvision.models.resnet import BasicBlock, ResNet

    net = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=2)
    if width != 64:  # rebuild the stages at this width with torchvision's own builder
        net.inplanes = width
        net.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        net.bn1 = nn.BatchNorm2d(width)
        net.layer1 = net._make_layer(BasicBlock, width, 2)
        net.layer2 = net._make_layer(BasicBlock, 2 * width, 2, stride=2)
        net.layer3 = net._make_layer(BasicBlock, 4 * width, 2, stride=2)
        net.layer4 = net._make_layer(BasicBlock, 8 * width, 2, stride=2)
        net.fc = nn.Linear(8 * width, 2)
        _torchvision_init(net)
    net.maxpool.kernel_size = 2
    net.avgpool = nn.AdaptiveMaxPool2d(1)
    return convert_padding(net, padding)


def _torchvision_init(net: nn.Module) -> None:
    """The initialisation torchvision's ResNet gives its layers."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def set_border(net: nn.Module, border: int) -> nn.Module:
    """Add ``border`` pixels of the scheme's padding around the first conv's input."""
    set_extra_border(net.conv1, border)
    return net


def input_size_after_border(net: nn.Module, size: int = CANVAS) -> int:
    """Spatial size of the first conv's output for a ``size`` input (for checks and logs)."""
    device = net.conv1.weight.device
    with torch.no_grad():
        return int(net.conv1(torch.zeros(1, 3, size, size, device=device)).shape[-1])


# ---------------------------------------------------------------- training
@torch.no_grad()
def predict(net: nn.Module, X: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    net.eval()
    return torch.cat([net(X[i : i + batch_size]) for i in range(0, len(X), batch_size)])


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return 100.0 * (logits.argmax(1) == y).float().mean().item()


def train_scratch(net, X, y, cfg: dict, seed: int, progress=None) -> nn.Module:
    """Train every layer with SGD (Nesterov momentum, as the official code) for
    ``cfg['epochs']`` epochs on shuffled canvases; returns the net in eval mode with
    its BatchNorm statistics re-estimated on the training canvases (after a short
    training the running averages lag behind the weights: a net that fits its
    training canvases could otherwise predict one class for every input)."""
    from padpos.runtime import recalibrate_batchnorm

    optimizer = torch.optim.SGD(net.parameters(), lr=cfg["lr"], **SGD)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(cfg["epochs"]):
        net.train()
        # drawn on the CPU (the same order on any device), moved once per epoch
        order = torch.randperm(len(y), generator=generator).to(X.device)
        for i in range(0, len(y), cfg["batch_size"]):
            idx = order[i : i + cfg["batch_size"]]
            loss = F.cross_entropy(net(X[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if progress is not None:  # the last batch's loss, read once per epoch
            progress.set_postfix(loss=f"{loss.item():.3f}")
    return recalibrate_batchnorm(net, X, batch_size=BN_BATCH)


class FrozenFeatures(nn.Module):
    """A frozen net's global-max-pooled features, standardised with the training
    canvases' statistics, followed by a trainable linear head."""

    def __init__(self, backbone: nn.Module, mean: torch.Tensor, std: torch.Tensor, head: nn.Linear):
        super().__init__()
        self.backbone, self.head = backbone, head
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head((self.backbone(x) - self.mean) / self.std)


def train_frozen_head(net, X, y, cfg: dict) -> tuple[nn.Module, torch.Tensor]:
    """'random-frozen': the randomly initialised convs stay fixed and only the head
    is trained. BatchNorm statistics are estimated on the training canvases, the
    pooled features are computed once, and the head is fitted to convergence as an
    L2-regularised logistic regression (Newton's method, exact). Returns the whole net and its
    logits on the training canvases: read from those features (in the batches of
    :func:`predict`, so equal to ``predict(net, X)``), which saves a second pass of
    the frozen backbone over the training canvases."""
    from padpos.runtime import recalibrate_batchnorm

    for p in net.parameters():
        p.requires_grad_(False)
    net.fc = nn.Identity()
    recalibrate_batchnorm(net, X, batch_size=BN_BATCH)
    feats = predict(net, X)
    mean, std = feature_scaling(feats)
    standardised = (feats - mean) / std
    head = two_way_linear_head(standardised, y)
    return FrozenFeatures(net, mean, std, head).eval(), predict(head, standardised)


# ---------------------------------------------------------------- one job
RESULT_COLUMNS = [
    "padding", "init", "seed", "border", "accuracy", "train_accuracy", "predicted_classes",
    "first_conv_size",
    "num_train_images", "num_test_images", "width", "epochs", "seconds", "failed", "converged",
]  # fmt: skip


def spec_with_defaults(spec: dict) -> dict:
    """A job spec: ``padding``, ``init`` and ``seeds`` (a list; ``seed``, one seed, is
    accepted too) plus the ``fconv.location`` settings (paper-scale defaults)."""
    if "seed" in spec and "seeds" in spec:
        raise ValueError("location spec: give 'seeds' (a list) or 'seed', not both")
    out = with_defaults(spec, DEFAULTS, "location", required=("padding", "init"), extra=("seed",))
    check_init(out["init"])
    if "seed" in out:
        out["seeds"] = [out.pop("seed")]
    out["seeds"] = [int(s) for s in out["seeds"]]
    if not out["seeds"] or len(set(out["seeds"])) != len(out["seeds"]):
        raise ValueError(f"location spec: 'seeds' must be distinct and non-empty, got {out['seeds']}")
    return out


def initial_net(padding: str, seed: int, width: int) -> nn.Module:
    """The untrained net of a job: ``seed`` sets the initialisation, the same for
    every border; made on the CPU (the same on any device)."""
    torch.manual_seed(seed)
    return location_resnet18(padding, width)


def run_border(padding, init, seed, border, data, cfg, progress=None, initial=None) -> dict:
    """Copy the untrained net ``initial`` (default: :func:`initial_net`; a sweep
    builds it once, not once per border: the ResNet is first built, and randomly
    initialised, at full width), move it to the canvases' device, pad its first conv
    by ``border``, train it and test it on the held-out canvases."""
    t0 = time.time()
    if initial is None:
        initial = initial_net(padding, seed, cfg["width"])
    net = set_border(copy.deepcopy(initial), border)
    net.to(data["train"][0].device)
    (Xtr, ytr), (Xte, yte) = data["train"], data["test"]
    if init == "scratch":
        net = train_scratch(net, Xtr, ytr, cfg, seed, progress)
        train_logits = predict(net, Xtr)
    else:
        net, train_logits = train_frozen_head(net, Xtr, ytr, cfg)
    test_logits = predict(net, Xte)
    return {
        "padding": padding, "init": init, "seed": seed, "border": border,
        "accuracy": accuracy(test_logits, yte),
        "predicted_classes": int(test_logits.argmax(1).unique().numel()),
        "train_accuracy": accuracy(train_logits, ytr),
        "first_conv_size": input_size_after_border(net.backbone if init != "scratch" else net),
        "num_train_images": len(ytr), "num_test_images": len(yte), "width": cfg["width"],
        "epochs": cfg["epochs"] if init == "scratch" else 0, "seconds": round(time.time() - t0, 2),
    }  # fmt: skip


def run_location(spec: dict, manifest_path, threads: int = 1, device=None) -> pd.DataFrame:
    """One (padding, init): the whole border sweep of every seed (the canvases are
    made once per job; one job per seed paid the start-up and the data again); one
    row per seed x border, with the ``failed`` flag (:func:`flag_failed`). Runs on
    ``device`` (default: CUDA when present)."""
    from padpos.runtime import select_device

    spec = spec_with_defaults(spec)
    torch.set_num_threads(max(1, threads))
    device = torch.device(device) if device is not None else select_device()
    data = location_data(manifest_path, spec["num_train"], spec["num_test"])
    data = {split: tuple(t.to(device) for t in pair) for split, pair in data.items()}
    padding, init = spec["padding"], spec["init"]
    progress = tqdm(total=len(spec["seeds"]) * len(spec["borders"]), file=sys.stderr)
    rows = []
    for seed in spec["seeds"]:
        initial = initial_net(padding, seed, spec["width"])  # copied for each border
        for border in (int(b) for b in spec["borders"]):
            progress.set_description(f"location {padding}/{init} seed {seed} B={border}")
            rows.append(run_border(padding, init, seed, border, data, spec, progress, initial))
            progress.update()
    progress.close()
    runs = flag_failed(pd.DataFrame(rows), spec["min_accuracy"])
    # a random-frozen head is fitted exactly (convex): converged by construction; a net
    # trained from scratch has converged when it fits its own training canvases
    runs["converged"] = (runs["init"] != "scratch") | (runs["train_accuracy"] >= spec["converged_train_acc"])
    return runs[RESULT_COLUMNS]


def flag_failed(runs: pd.DataFrame, min_accuracy: float) -> pd.DataFrame:
    """Add the boolean ``failed`` column and name each failed run in a warning.

    A net trained from scratch fails when its accuracy on its own training canvases
    stays below ``min_accuracy`` (it did not learn the task) or when it predicts one
    class for every held-out canvas (a collapsed net sits at exactly 50 %): its
    held-out accuracy then says nothing about position. A random-frozen
    run never fails: its head is fitted to convergence by a convex solver, and 50 %
    there is the measurement (features that carry no position)."""
    low = ~(runs["train_accuracy"] >= min_accuracy)
    collapsed = runs["predicted_classes"] <= 1

    def describe(row) -> str:
        why = (f"training accuracy {row['train_accuracy']:.1f}% is below "
               f"fconv.location.min_accuracy = {min_accuracy:.1f}%" if not row["train_accuracy"] >= min_accuracy
               else "it predicts one class for every held-out canvas")  # fmt: skip
        return (f"FAILED RUN location {row['padding']}/{row['init']}/seed{row['seed']}/B={row['border']}: "
                f"{why} (chance 50 %); flagged failed=True, left out of the means")  # fmt: skip

    failed = (runs["init"] == "scratch") & (low | collapsed)
    return flag_failed_runs(runs, failed, ["padding", "init", "seed", "border"], describe)


def describe_scale(cfg: dict) -> str:
    """'paper scale' or 'reduced: ...' naming what differs from the official setting."""
    return scale_description(cfg, PAPER, [
        (lambda c: c["width"] != PAPER["width"], lambda c: f"width {c['width']} (ResNet-18: 64)"),
        (lambda c: (c["num_train"], c["num_test"]) != (PAPER["num_train"], PAPER["num_test"]),
         lambda c: f"{c['num_train']}/{c['num_test']} train/test source images"),
        (lambda c: c["epochs"] != PAPER["epochs"],
         lambda c: f"{c['epochs']} epoch{'s' if c['epochs'] != 1 else ''}"),
        (lambda c: max(c["borders"]) < max(PAPER["borders"]),
         lambda c: f"B up to {max(c['borders'])} (official {max(PAPER['borders'])})"),
    ])  # fmt: skip
