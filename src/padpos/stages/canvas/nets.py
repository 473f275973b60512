"""The canvas nets of [ISL21]'s location-dependent classification (docs/protocols.md
section 5): a fresh net of the study's arch and the run's padding predicts, for an image
in one cell of a k x k canvas, the cell (k^2-way head) AND the image's class (second
head, the data set's classes). One set of nets gives both the location rows and the
class-versus-border-distance rows; every gap it is tested at, it saw in training.

The two heads are one linear layer whose outputs are split (``[:k^2]`` cell,
``[k^2:]`` class); the loss is the sum of the two cross-entropies.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from padpos.optim import adam_step
from padpos.stages.canvas.geometry import (
    canvas_colour,
    cell_kind,
    cell_position,
    cell_ring,
    place_in_cells,
)

ADAM_BETAS = (0.5, 0.999)  # the ICCV 2021 code's Adam (beta1 0.5)
ADAM_EPS = 1e-8
WARMUP_FRACTION = 0.2
RECAL_IMAGES = 1024  # canvases that re-estimate the BatchNorm statistics after training
EPOCH_REPORTED = "final"
TASKS: tuple[str, ...] = ("location", "class")


def normalised(pixels: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """[0, 1] pixels -> model inputs (the data set's normalisation)."""
    from padpos.data import normalise_pixels

    return normalise_pixels(pixels, mean, std)


def lr_at(step: int, total: int, lr: float) -> float:
    """Learning rate of step ``step`` (0-based) of ``total``: linear warm-up over the
    first WARMUP_FRACTION of the steps, then linear decay towards 0."""
    warm = max(1, round(WARMUP_FRACTION * total))
    if step < warm:
        return lr * (step + 1) / warm
    return lr * max(0.0, (total - step) / max(1, total - warm))


def canvas_net(arch: str, padding: str, k: int, num_classes: int, width: int, seed: int,
               device="cpu") -> nn.Module:  # fmt: skip
    """A fresh ``arch`` with ``padding`` and a (k^2 + num_classes)-way output: the cell
    head and the class head (initialisation set by ``seed``, on the CPU, so that every
    device starts from the same weights), on ``device``."""
    from padpos.models import build_model

    torch.manual_seed(seed)
    return build_model(arch, padding, k * k + num_classes, width=width).to(device)


def _losses(logits: torch.Tensor, cells: torch.Tensor, labels: torch.Tensor, k: int):
    loc, cls = logits[:, : k * k], logits[:, k * k :]
    return F.cross_entropy(loc, cells) + F.cross_entropy(cls, labels), loc, cls


def train_canvas(model: nn.Module, pixels: torch.Tensor, labels: torch.Tensor, colour: torch.Tensor,
                 k: int, mean, std, epochs: int, batch_size: int, lr: float, seed: int) -> dict:  # fmt: skip
    """Train ``model`` (on its device) to predict the cell and the class of each training
    image on the canvas; the cells are redrawn every epoch (as the ICCV 2021 code), the
    canvases built per batch on the device. Returns the last epoch's training loss and
    location / class accuracy (read once per epoch)."""
    from padpos.runtime import recalibrate_batchnorm

    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)  # on the CPU: the same draws on any device
    pixels, labels, colour = pixels.to(device), labels.to(device), colour.to(device)
    n = len(pixels)
    params = [p for p in model.parameters() if p.requires_grad]
    state: dict = {}
    total = max(1, epochs * math.ceil(n / batch_size))
    step = 0
    last = {"train_loss": math.nan, "train_location_acc": math.nan, "train_class_acc": math.nan}
    cells = order = None
    for epoch in range(1, epochs + 1):
        model.train()
        cells = torch.randint(0, k * k, (n,), generator=gen).to(device)
        order = torch.randperm(n, generator=gen).to(device)
        loss_sum = torch.zeros((), device=device)
        hits = torch.zeros(2, dtype=torch.int64, device=device)
        seen = 0
        for idx in order.split(batch_size):
            if len(idx) < 2:  # BatchNorm needs two values per channel
                continue
            x = normalised(place_in_cells(pixels[idx], cells[idx], k, colour), mean, std)
            loss, loc, cls = _losses(model(x), cells[idx], labels[idx], k)
            model.zero_grad(set_to_none=True)
            loss.backward()
            step += 1
            adam_step(params, state, lr_at(step - 1, total, lr), step, ADAM_BETAS, ADAM_EPS)
            loss_sum += loss.detach() * len(idx)
            hits[0] += (loc.argmax(1) == cells[idx]).sum()
            hits[1] += (cls.argmax(1) == labels[idx]).sum()
            seen += len(idx)
        epoch_loss = loss_sum.item() / max(1, seen)  # one device sync per epoch
        if not math.isfinite(epoch_loss):
            raise FloatingPointError(f"canvas training: loss became {epoch_loss} in epoch {epoch}")
        acc = (100.0 * hits.cpu().numpy() / max(1, seen)).tolist()
        last = {"train_loss": epoch_loss, "train_location_acc": acc[0], "train_class_acc": acc[1]}
    if order is not None:
        # project choice: BN statistics of the final weights, not a lagging running average,
        # on (up to RECAL_IMAGES of) the last epoch's canvases
        idx = order[:RECAL_IMAGES]
        canvases = normalised(place_in_cells(pixels[idx], cells[idx], k, colour), mean, std)
        recalibrate_batchnorm(model, canvases, batch_size=128)
    model.eval()
    return last


@torch.no_grad()
def cell_accuracy(model: nn.Module, pixels: torch.Tensor, labels: torch.Tensor, colour: torch.Tensor,
                  k: int, mean, std, batch_size: int = 256) -> np.ndarray:  # fmt: skip
    """Accuracy (%) per task x cell (2 x k^2: location, class): every test image placed in
    every cell (on the model's device)."""
    model.eval()
    device = next(model.parameters()).device
    pixels, labels, colour = pixels.to(device), labels.to(device), colour.to(device)
    correct = torch.zeros(2, k * k, dtype=torch.int64, device=device)
    for cell in range(k * k):
        for batch, y in zip(pixels.split(batch_size), labels.split(batch_size)):
            cells = torch.full((len(batch),), cell, dtype=torch.int64, device=device)
            logits = model(normalised(place_in_cells(batch, cells, k, colour), mean, std))
            correct[0, cell] += (logits[:, : k * k].argmax(1) == cell).sum()
            correct[1, cell] += (logits[:, k * k :].argmax(1) == y).sum()
    return 100.0 * correct.cpu().numpy() / len(pixels)


def cell_rows(per_cell: np.ndarray, k: int, cell_px: int, colour: str, n_test: int,
              num_classes: int) -> list[dict]:  # fmt: skip
    """Long-format rows (one per task x cell) of one canvas colour; ``chance`` is the
    task's chance level (%)."""
    chance = {"location": 100.0 / (k * k), "class": 100.0 / num_classes}
    return [
        {"canvas": colour, "grid": k, "task": task, "cell": cell,
         "row": cell_position(cell, k)[0], "col": cell_position(cell, k)[1],
         "kind": cell_kind(cell, k), "ring": cell_ring(cell, k), "gap_px": cell_ring(cell, k) * cell_px,
         "accuracy": float(per_cell[t, cell]), "chance": chance[task], "n_test": int(n_test),
         "epoch_reported": EPOCH_REPORTED}  # fmt: skip
        for t, task in enumerate(TASKS)
        for cell in range(k * k)
    ]


def canvas_experiment(arch: str, padding: str, seed: int, train: tuple, test: tuple, num_classes: int,
                      mean, std, spec: dict, device="cpu") -> pd.DataFrame:  # fmt: skip
    """Both tasks for every canvas colour in ``spec['colours']`` (only the first unless
    ``padding`` is in ``spec['colour_arms']``, None = every padding): one fresh net per
    colour (the same initialisation for every colour), on ``device``; ``train`` / ``test`` are
    (pixels, labels). A net has learned its task (``converged``) when its final-epoch
    training CLASS accuracy reaches ``spec['converged_train_acc']``: the class is what
    every arm can learn (location may be impossible by construction, e.g. circular)."""
    k, cell_px, rows = int(spec["grid"]), int(train[0].shape[-1]), []
    arms = spec.get("colour_arms")
    colours = spec["colours"] if arms is None or padding in arms else spec["colours"][:1]
    for name in colours:
        colour = canvas_colour(name, mean)
        model = canvas_net(arch, padding, k, num_classes, int(spec["width"]), seed, device)
        fit = train_canvas(model, *train, colour, k, mean, std, int(spec["epochs"]),
                           int(spec["batch_size"]), float(spec["lr"]), seed)  # fmt: skip
        per_cell = cell_accuracy(model, *test, colour, k, mean, std)
        converged = bool(fit["train_class_acc"] >= float(spec["converged_train_acc"]))
        for row in cell_rows(per_cell, k, cell_px, name, len(test[0]), num_classes):
            rows.append({**row, **fit, "converged": converged})
    return pd.DataFrame(rows)
