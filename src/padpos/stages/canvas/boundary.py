"""Boundary effects of [ISL21] (docs/protocols.md section 5): the canvas location test and
classification accuracy as a function of the object's distance to the image border.

Canvas location test. A data-set image (``cell`` x ``cell`` pixels) is placed in one
cell of a k x k grid on an otherwise empty canvas (``k * cell`` pixels a side) of a
uniform colour: black, white or the data set's mean colour (0 after normalisation,
the authors' canvas). A fresh network of the study's architecture, with the padding
scheme under test on every conv and pooling layer, learns to predict the cell
(k^2 classes). Global average pooling makes the network's output blind to where a
pattern sits, so the cell can only be read from position information: what the
padding (and any other break of translation equivariance) injects. Reported: the
accuracy per cell and per ring of cells (corner / edge / interior).

- Training: every epoch redraws each training image's cell (as the authors' code
  does); Adam with beta1 0.5 (the authors' optimiser), written out in
  :func:`padpos.optim.adam_step` (constructing a ``torch.optim`` optimiser costs seconds of
  import per job); *project choice*: the learning rate warms up over the first
  fifth of the steps and decays linearly to 0, and BatchNorm statistics are
  re-estimated on the last epoch's canvases before testing, so that the final
  epoch, not a lucky one, is reported.
- Test: every test image in every cell (fixed, balanced), evaluated once after
  the final epoch. The authors redraw the test cells every epoch and report the
  best epoch; what is reported here is the FINAL epoch (column ``epoch_reported``).
- Cell size: *project choice*, the cell should be a multiple of the network's
  total stride (8 for ``small_resnet``): then a circular-padded network is exactly
  equivariant to moving the image by one cell, and scores exactly chance, the
  built-in negative control.

Border distance. Each trained backbone classifies the same test objects placed at
controlled distances from the image border:

- synthetic scenes (method ``scene``): every test scene is re-rendered with its
  object (shape, size, colour, background unchanged) moved so that the gap between
  the object's bounding circle and the nearest image border is d pixels, on one
  side per scene (top, right, bottom, left in turn), centred along that side;
- other data sets (method ``canvas``): each test image is pasted on a mean-colour
  canvas ``2 * D`` pixels larger than the image (D = the largest distance), d
  pixels from one side (in turn), centred along it; the fully convolutional
  backbone classifies the canvas.

``torch`` and the package's heavy modules are imported where used, as elsewhere.
"""

from __future__ import annotations

import math
import time
from typing import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from padpos.names import CANVAS_COLOURS, CANVAS_RINGS
from padpos.optim import adam_step
from padpos.specs import with_defaults

RINGS, COLOURS = CANVAS_RINGS, CANVAS_COLOURS
SIDES: tuple[str, ...] = ("top", "right", "bottom", "left")
METHODS: tuple[str, ...] = ("scene", "canvas")
ADAM_BETAS = (0.5, 0.999)  # the authors' Adam (beta1 0.5)
ADAM_EPS = 1e-8
WARMUP_FRACTION = 0.2
RECAL_IMAGES = 1024  # canvases that re-estimate the BatchNorm statistics after training
EPOCH_REPORTED = "final"
SUBSET_STREAMS = {"train": 11, "test": 12, "border": 13}  # one random subset per purpose

# the authors' setting (PermuteNet, channel-wise-position-encoding/trainval_gapnet.py)
DEFAULTS = {
    "colours": list(COLOURS),
    "grid": 3,
    "cell_size": None,  # None = the data set's image size (32 px for CIFAR, the paper)
    "num_train": None,  # None = the whole train split
    "num_test": None,
    "epochs": 20,
    "batch_size": 48,
    "lr": 1e-3,
    "width": None,  # None = the trained backbone's width
    "border_distance": {"num_images": 500, "distances": None, "margin_px": 0},
    # % final-epoch training accuracy from which a location net has learned the task
    "converged_train_acc": 90.0,
}


# ---------------------------------------------------------------- cells and rings
def cell_position(cell: int, k: int) -> tuple[int, int]:
    """(row, column) of cell index ``cell`` (row-major, as the authors' labels)."""
    if not 0 <= cell < k * k:
        raise ValueError(f"cell {cell} is outside a {k} x {k} grid")
    return divmod(int(cell), k)


def cell_ring(cell: int, k: int) -> str:
    """'corner', 'edge' or 'interior': where the cell lies relative to the canvas border."""
    row, col = cell_position(cell, k)
    on_row, on_col = row in (0, k - 1), col in (0, k - 1)
    if on_row and on_col:
        return "corner"
    if on_row or on_col:
        return "edge"
    return "interior"


def cell_border_distance(cell: int, k: int) -> int:
    """Distance of the cell to the canvas border, in cells (0 = touches the border)."""
    row, col = cell_position(cell, k)
    return min(row, col, k - 1 - row, k - 1 - col)


def canvas_colour(name: str, mean: Sequence[float]) -> torch.Tensor:
    """Pixel value (3,) in [0, 1] of a canvas colour name; ``mean`` = the data set's mean."""
    if name == "black":
        return torch.zeros(3)
    if name == "white":
        return torch.ones(3)
    if name == "mean":
        return torch.as_tensor(mean, dtype=torch.float32).reshape(3)
    raise ValueError(f"unknown canvas colour {name!r}; allowed: {', '.join(COLOURS)}")


def place_in_cells(
    images: torch.Tensor, cells: torch.Tensor, k: int, colour: torch.Tensor
) -> torch.Tensor:
    """Pixel images N x 3 x s x s, each in its cell of a k x k grid on a canvas of
    ``colour``: N x 3 x ks x ks (pixel values)."""
    n, c, s, s2 = images.shape
    if s != s2:
        raise ValueError(f"cell images must be square, got {s} x {s2}")
    if len(cells) != n:
        raise ValueError(f"{n} images but {len(cells)} cells")
    out = colour.to(images).view(1, c, 1, 1).repeat(n, 1, k * s, k * s)
    rows, cols = torch.div(cells, k, rounding_mode="floor"), cells % k
    for cell in torch.unique(cells).tolist():
        idx = torch.nonzero(cells == cell).flatten()
        r, q = int(rows[idx[0]]), int(cols[idx[0]])
        out[idx, :, r * s : (r + 1) * s, q * s : (q + 1) * s] = images[idx]
    return out


# ---------------------------------------------------------------- source images
def source_pixels(manifest_path, split: str, indices: Sequence[int], size: int) -> torch.Tensor:
    """Images ``indices`` of a split as float pixels in [0, 1], ``size`` x ``size``:
    synthetic scenes are rendered at that size, other images un-normalised and resized
    (antialiased bilinear)."""
    from padpos import data

    manifest = data.read_manifest(manifest_path)
    indices = [int(i) for i in indices]
    if manifest["dataset"] == "synthetic":
        images, _ = data.render_scenes(int(manifest["seed"]), split, indices, size)
        return data.uint8_to_pixels(images)
    ds = data.load_split(manifest_path, split)
    images = torch.stack([data.to_pixels(ds[i][0], ds.mean, ds.std) for i in indices])
    images = images.clamp(0.0, 1.0)
    if images.shape[-1] != size:
        images = F.interpolate(images, size=(size, size), mode="bilinear", antialias=True)
    return images.clamp(0.0, 1.0)


def subset(manifest_path, split: str, n: int | None, purpose: str) -> np.ndarray:
    """The seeded random subset of a split used for ``purpose`` (the same for every
    network of the study: it depends on the data seed only)."""
    from padpos import data

    manifest = data.read_manifest(manifest_path)
    available = int(manifest["splits"][split]["size"])
    return data.random_subset(available, n, int(manifest["seed"]), SUBSET_STREAMS[purpose])


def normalised(pixels: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """[0, 1] pixels -> model inputs (the data set's normalisation)."""
    from padpos.data import normalise_pixels

    return normalise_pixels(pixels, mean, std)


# ---------------------------------------------------------------- learning rate
def lr_at(step: int, total: int, lr: float) -> float:
    """Learning rate of step ``step`` (0-based) of ``total``: linear warm-up over the
    first WARMUP_FRACTION of the steps, then linear decay towards 0."""
    warm = max(1, round(WARMUP_FRACTION * total))
    if step < warm:
        return lr * (step + 1) / warm
    return lr * max(0.0, (total - step) / max(1, total - warm))


# ---------------------------------------------------------------- location test
def location_net(arch: str, padding: str, k: int, width: int, seed: int, device="cpu") -> nn.Module:
    """A fresh ``arch`` with ``padding`` and a k^2-way head (initialisation set by ``seed``,
    on the CPU, so that every device starts from the same weights), on ``device``."""
    from padpos.models import build_model

    torch.manual_seed(seed)
    return build_model(arch, padding, k * k, width=width).to(device)


def train_location(
    model: nn.Module,
    train_pixels: torch.Tensor,
    colour: torch.Tensor,
    k: int,
    mean,
    std,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
) -> dict:
    """Train ``model`` (on its device) to predict the cell of each training image on the
    canvas; the cells are redrawn every epoch, the canvases built per batch on the
    device. Returns the last epoch's training loss / accuracy (read once per epoch)."""
    from padpos.runtime import recalibrate_batchnorm

    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)  # on the CPU: the same draws on any device
    pixels, colour = train_pixels.to(device), colour.to(device)
    n = len(pixels)
    params = [p for p in model.parameters() if p.requires_grad]
    state: dict = {}
    total = max(1, epochs * math.ceil(n / batch_size))
    step, last = 0, {"train_loss": float("nan"), "train_acc": float("nan")}
    cells = order = None
    for epoch in range(1, epochs + 1):
        model.train()
        cells = torch.randint(0, k * k, (n,), generator=gen).to(device)
        order = torch.randperm(n, generator=gen).to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        seen = 0
        for idx in order.split(batch_size):
            if len(idx) < 2:  # BatchNorm needs two values per channel
                continue
            x = normalised(place_in_cells(pixels[idx], cells[idx], k, colour), mean, std)
            logits = model(x)
            loss = F.cross_entropy(logits, cells[idx])
            model.zero_grad(set_to_none=True)
            loss.backward()
            step += 1
            adam_step(params, state, lr_at(step - 1, total, lr), step, ADAM_BETAS, ADAM_EPS)
            loss_sum += loss.detach() * len(idx)
            correct += (logits.argmax(1) == cells[idx]).sum()
            seen += len(idx)
        epoch_loss = loss_sum.item() / max(1, seen)  # one device sync per epoch
        if not math.isfinite(epoch_loss):
            raise FloatingPointError(f"canvas location training: loss became {epoch_loss} in epoch {epoch}")
        last = {"train_loss": epoch_loss, "train_acc": 100.0 * correct.item() / max(1, seen)}
    if order is not None:
        # project choice: BN statistics of the final weights, not a lagging running average,
        # on (up to RECAL_IMAGES of) the last epoch's canvases
        idx = order[:RECAL_IMAGES]
        canvases = normalised(place_in_cells(pixels[idx], cells[idx], k, colour), mean, std)
        recalibrate_batchnorm(model, canvases, batch_size=128)
    model.eval()
    return last


@torch.no_grad()
def cell_accuracy(
    model: nn.Module, test_pixels: torch.Tensor, colour: torch.Tensor, k: int, mean, std,
    batch_size: int = 256,
) -> np.ndarray:
    """Accuracy (%) per cell (k^2,): every test image placed in every cell (on the
    model's device)."""
    model.eval()
    device = next(model.parameters()).device
    pixels, colour = test_pixels.to(device), colour.to(device)
    correct = torch.zeros(k * k, dtype=torch.int64, device=device)
    for cell in range(k * k):
        for batch in pixels.split(batch_size):
            cells = torch.full((len(batch),), cell, dtype=torch.int64, device=device)
            pred = model(normalised(place_in_cells(batch, cells, k, colour), mean, std)).argmax(1)
            correct[cell] += (pred == cell).sum()
    return 100.0 * correct.cpu().numpy() / len(test_pixels)


def location_rows(per_cell: np.ndarray, k: int, colour: str, n_test: int) -> list[dict]:
    """Long-format rows (one per cell) of one canvas colour."""
    return [
        {
            "canvas": colour,
            "grid": k,
            "cell": cell,
            "row": cell_position(cell, k)[0],
            "col": cell_position(cell, k)[1],
            "ring": cell_ring(cell, k),
            "cell_border_distance": cell_border_distance(cell, k),
            "accuracy": float(per_cell[cell]),
            "n_test": int(n_test),
            "epoch_reported": EPOCH_REPORTED,
        }
        for cell in range(k * k)
    ]


def canvas_location(
    arch: str,
    padding: str,
    seed: int,
    train_pixels: torch.Tensor,
    test_pixels: torch.Tensor,
    mean,
    std,
    spec: dict,
    device="cpu",
) -> pd.DataFrame:
    """The location test for every canvas colour in ``spec['colours']``: one fresh net
    per colour (the same initialisation for every colour), on ``device``. Rows per
    colour x cell."""
    k, rows = int(spec["grid"]), []
    for name in spec["colours"]:
        colour = canvas_colour(name, mean)
        model = location_net(arch, padding, k, int(spec["width"]), seed, device)
        fit = train_location(model, train_pixels, colour, k, mean, std, int(spec["epochs"]),
                             int(spec["batch_size"]), float(spec["lr"]), seed)  # fmt: skip
        per_cell = cell_accuracy(model, test_pixels, colour, k, mean, std)
        converged = bool(fit["train_acc"] >= float(spec["converged_train_acc"]))
        for row in location_rows(per_cell, k, name, len(test_pixels)):
            rows.append({**row, **fit, "converged": converged})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- border distance
def max_scene_distance(size: int, margin: int = 0) -> int:
    """Largest gap (px) between an object and the border that every synthetic object
    allows when it is centred along the side (the largest radius bounds it), in a scene
    rendered ``margin`` px wider on every side."""
    from padpos.data.synthetic import RADIUS_RANGE

    return int(math.floor((0.5 - RADIUS_RANGE[1]) * size)) + int(margin)


def default_distances(size: int, margin: int = 0) -> list[int]:
    """Every integer pixel distance from 0 to :func:`max_scene_distance`."""
    return list(range(max_scene_distance(size, margin) + 1))


def moved_scene_params(params: dict, distance_px: float, size: int, margin: int = 0) -> dict:
    """Scene parameters with every object moved so that the gap between its bounding
    circle and the nearest border of the rendered field is ``distance_px``: scene i goes
    to side ``SIDES[i % 4]``, centred along it. The field is the ``size`` px image widened
    by ``margin`` px of the same scene on every side (``render_scene_params(p, size,
    margin)``: the object keeps its size in pixels). Raises if an object is too large for it."""
    p = {key: np.array(value, copy=True) for key, value in params.items()}
    radius = p["radius"]
    # centre coordinate (scene units: the image is [0, 1], the field [-m, 1 + m]) near the border
    near = radius + (distance_px - margin) / size
    if np.any(near > 0.5 + 1e-12):
        raise ValueError(
            f"border distance {distance_px} px does not fit objects of radius up to "
            f"{radius.max() * size:.1f} px in a {size + 2 * margin} px field (largest allowed: "
            f"{max_scene_distance(size, margin)} px)"
        )
    centre = np.full((len(radius), 2), 0.5)
    for i in range(len(radius)):
        side = SIDES[i % len(SIDES)]
        axis = 1 if side in ("top", "bottom") else 0  # centre is (x, y); y grows downwards
        centre[i, axis] = near[i] if side in ("top", "left") else 1.0 - near[i]
    p["center"] = centre
    return p


def object_border_gap(params: dict, size: int, margin: int = 0) -> np.ndarray:
    """Gap (px) between each object's bounding circle and the nearest border of the
    field rendered ``margin`` px wider than the image on every side."""
    c, r = params["center"], params["radius"]
    nearest = np.minimum(np.minimum(c[:, 0], c[:, 1]), np.minimum(1 - c[:, 0], 1 - c[:, 1]))
    return (nearest - r) * size + margin


def paste_at_distance(
    images: torch.Tensor, distance: int, max_distance: int, colour: torch.Tensor
) -> torch.Tensor:
    """Pixel images N x 3 x S x S on a canvas of ``colour``, S + 2 * max_distance a side,
    image i ``distance`` px from side ``SIDES[i % 4]`` and centred along it."""
    if not 0 <= distance <= max_distance:
        raise ValueError(f"distance {distance} is outside 0 .. {max_distance}")
    n, c, s, _ = images.shape
    side_len = s + 2 * max_distance
    out = colour.to(images).view(1, c, 1, 1).repeat(n, 1, side_len, side_len)
    far = side_len - s - distance
    offsets = {"top": (distance, max_distance), "right": (max_distance, far),
               "bottom": (far, max_distance), "left": (max_distance, distance)}  # fmt: skip
    for i in range(n):
        top, left = offsets[SIDES[i % len(SIDES)]]
        out[i, :, top : top + s, left : left + s] = images[i]
    return out


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256) -> tuple:
    """Accuracy (%) and count of ``model`` (on its device) on inputs ``x``, labels ``y``."""
    device = next(model.parameters()).device
    correct = sum(
        int((model(x[i : i + batch_size].to(device)).argmax(1).cpu() == y[i : i + batch_size]).sum())
        for i in range(0, len(x), batch_size)
    )
    return 100.0 * correct / len(y), int(len(y))


def accuracy_by_border_distance(model: nn.Module, manifest_path, spec: dict) -> pd.DataFrame:
    """Accuracy of the trained ``model`` per object distance to the nearest border.

    ``spec``: ``num_images`` (a seeded random subset of the test split),
    ``distances`` (px; None = :func:`default_distances` for scenes, 0..8 for canvases),
    ``margin_px`` (synthetic scenes: render them this much wider on every side, the
    object at its trained size, so that gaps up to the margin plus what a 32 px scene
    allows can be measured). Rows: method, distance_px, field_px, accuracy, n.
    """
    from padpos import data

    manifest = data.read_manifest(manifest_path)
    size = int(manifest["image_size"])
    idx = subset(manifest_path, "test", spec.get("num_images"), "border")
    model.eval()
    rows = []
    if manifest["dataset"] == "synthetic":
        method, params = "scene", data.scene_params(int(manifest["seed"]), "test", idx)
        margin = int(spec.get("margin_px") or 0)
        distances = spec.get("distances") or default_distances(size, margin)
        too_far = [d for d in distances if d > max_scene_distance(size, margin)]
        if too_far:
            raise ValueError(
                f"config key 'canvas.border_distance.distances': {too_far} px do not fit the "
                f"largest synthetic objects in a {size + 2 * margin} px field (at most "
                f"{max_scene_distance(size, margin)} px; canvas.border_distance.margin_px widens it)"
            )
        for d in distances:
            moved = moved_scene_params(params, float(d), size, margin)
            images, labels = data.render_scene_params(moved, size, margin)
            x = data.normalise(images, manifest["mean"], manifest["std"])
            acc, n = _accuracy(model, x, labels)
            rows.append({"method": method, "distance_px": d, "field_px": size + 2 * margin,
                         "accuracy": acc, "n": n})  # fmt: skip
    else:
        method = "canvas"
        distances = spec.get("distances") or list(range(0, 9, 2))
        ds = data.load_split(manifest_path, "test")
        labels = torch.tensor([ds.targets[i] for i in idx], dtype=torch.int64)
        pixels = source_pixels(manifest_path, "test", idx, size)
        colour = canvas_colour("mean", manifest["mean"])
        for d in distances:
            x = normalised(paste_at_distance(pixels, int(d), max(distances), colour),
                           manifest["mean"], manifest["std"])  # fmt: skip
            acc, n = _accuracy(model, x, labels)
            rows.append({"method": method, "distance_px": d, "field_px": size + 2 * max(distances),
                         "accuracy": acc, "n": n})  # fmt: skip
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- one job
def spec_with_defaults(spec: dict) -> dict:
    """Fill missing canvas settings; an unknown key is an error naming it."""
    out = with_defaults(spec, DEFAULTS, "canvas", extra=("study", "seed"))
    if out["border_distance"] is None:
        out["border_distance"] = dict(DEFAULTS["border_distance"])
    bad = [c for c in out["colours"] if c not in COLOURS]
    if bad:
        raise ValueError(f"canvas.colours: unknown colour(s) {bad}; allowed: {', '.join(COLOURS)}")
    return out


def run_boundary(spec: dict, checkpoint, manifest_path, out: dict) -> dict:
    """One job per trained run (arch x padding x seed): the canvas location test of a
    fresh net with the run's arch, padding and seed, and the border-distance accuracy
    of the trained backbone in ``checkpoint`` (rows flagged ``failed`` when training
    flagged the backbone in its meta, where PPP and PosENet read it too). Writes
    ``out['canvas']`` and ``out['border']`` (CSV) and ``out['provenance']`` (JSON);
    returns the provenance."""
    from padpos import data
    from padpos.io import write_csv
    from padpos.models import load_checkpoint, training_flags
    from padpos.runtime import ieee_float32, provenance, select_device, write_provenance

    started = time.time()
    spec = spec_with_defaults(spec)
    device = select_device()
    ieee_float32(device)
    model, meta = load_checkpoint(checkpoint)
    model.to(device)
    seed = int(spec.get("seed", meta["seed"]))
    manifest = data.read_manifest(manifest_path)
    mean, std = manifest["mean"], manifest["std"]
    cell = int(spec["cell_size"] or manifest["image_size"])
    spec["width"] = int(spec["width"] or meta.get("width", 16))
    ids = {"study": spec.get("study", ""), "arch": meta["arch"], "padding": meta["padding"],
           "seed": seed}  # fmt: skip

    t0 = time.time()
    border = accuracy_by_border_distance(model, manifest_path, spec["border_distance"])
    border_s = time.time() - t0
    flags = training_flags([meta], [checkpoint])  # the backbone's own quality gates (train.*)
    border.insert(0, "converged", flags["converged"])
    border.insert(0, "failed", flags["failed"])
    for i, (key, value) in enumerate(ids.items()):
        border.insert(i, key, value)

    t0 = time.time()
    train_idx = subset(manifest_path, "train", spec["num_train"], "train")
    test_idx = subset(manifest_path, "test", spec["num_test"], "test")
    train_px = source_pixels(manifest_path, "train", train_idx, cell)
    test_px = source_pixels(manifest_path, "test", test_idx, cell)
    location = canvas_location(meta["arch"], meta["padding"], seed, train_px, test_px, mean,
                               std, spec, device)  # fmt: skip
    canvas_s = time.time() - t0
    for i, (key, value) in enumerate(ids.items()):
        location.insert(i, key, value)
    location.insert(len(ids), "cell_size", cell)

    write_csv(out["canvas"], location)
    write_csv(out["border"], border)
    prov = provenance(
        spec,
        started,
        device,
        checkpoint=str(checkpoint),
        data_manifest=str(manifest_path),
        cell_size=cell,
        canvas_side=cell * int(spec["grid"]),
        epoch_reported=EPOCH_REPORTED,
        backbone_failed=flags["failed"],
        backbone_converged=flags["converged"],
        canvas_wall_time_s=round(canvas_s, 2),
        border_wall_time_s=round(border_s, 2),
    )
    write_provenance(out["provenance"], prov)
    return prov
