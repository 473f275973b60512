"""Red-Green test of Kayhan & van Gemert 2020 (docs/protocols.md 4a).

A 32 x 32 black image holds a red and a green 4 x 4 box. Class 0: red left of
green, both near row 7; class 1: green left of red, both near row 23. The class
is decided by the left-right order of the colours, which any translation-
invariant net can read, but in the training data the class also coincides with
the boxes' height in the image. A net that can encode absolute position (V-Conv,
S-Conv with zero padding) may use the height instead; the "dissimilar" test set
moves every box by 16 rows so that each class sits where the other one trained,
and exposes that shortcut.

This module holds the data generator, the 4-conv net built per conv type, the
training loop (Adadelta, early stopping on the validation loss, best weights
tested) and :func:`run_variant`, one job: every seed of one conv type.

Length: the data, the net and its training are the one test the paper describes, read together.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from padpos.names import REDGREEN_VARIANTS, conv_type  # noqa: F401  (conv_type re-exported)
from padpos.padding import conv2d
from padpos.specs import describe_scale as scale_description
from padpos.specs import with_defaults
from padpos.stats import flag_failed_runs

IMAGE_SIZE = 32
BOX = 4
OFF = IMAGE_SIZE - BOX  # 28: the last column / row a box can start at is OFF - 1
LEFT_COLUMNS = OFF // 2 - BOX  # the left box starts in columns 0 .. 9
ROW_JITTER = (-4, 3)  # inclusive: randint(-28/6, 28/6) of the official code
BASE_ROW = (7, 23)  # per class
MIN_GAP = BOX + 1  # |x1 - x2| >= 5: the boxes never touch
SHIFT = 16  # rows the dissimilar set moves: +16 for class 0, -16 for class 1
RED, GREEN = 0, 1  # channels

# conv type -> (padpos padding scheme, per-side pad of every 3x3 conv); see padpos.names
VARIANTS: dict[str, tuple[str, int]] = REDGREEN_VARIANTS

# the protocol's (and the official code's) settings: the paper scale
PAPER = {
    "sizes": {"train": 2000, "val": 1000, "test": 1000},
    "max_epochs": 50,
    "patience": 8,
    "batch_size": 200,
    "seeds": list(range(10)),
}
MIN_ACCURACY = 60.0  # % validation accuracy below which a seed did not learn the task (chance 50)
# the fconv.redgreen settings of a job (the schema's defaults: the paper scale)
DEFAULTS = {**PAPER, "data_seed": 0, "min_accuracy": MIN_ACCURACY}
ADADELTA = {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 5e-5}
DATA_SPLITS = ("train", "val", "test")
SPLIT_IDS = {split: i for i, split in enumerate(DATA_SPLITS)}  # mixed into every image's seed
TEST_SETS = ("similar", "dissimilar")


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"unknown Red-Green variant {variant!r}; allowed: {', '.join(VARIANTS)}")
    return variant


# ---------------------------------------------------------------- data
@dataclass
class BoxSet:
    """Box positions of a set of images: rows ``(red_row, red_col, green_row, green_col)``
    (top-left corners) and labels. Images are rendered from it on demand."""

    boxes: np.ndarray  # N x 4 int
    labels: np.ndarray  # N int64

    def __len__(self) -> int:
        return len(self.labels)

    def render(self) -> torch.Tensor:
        """Float images N x 3 x 32 x 32: black, red box = 1.0 in channel 0, green in channel 1."""
        images = np.zeros((len(self), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
        for i, (rr, rc, gr, gc) in enumerate(self.boxes):
            images[i, RED, rr : rr + BOX, rc : rc + BOX] = 1.0
            images[i, GREEN, gr : gr + BOX, gc : gc + BOX] = 1.0
        return torch.from_numpy(images)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.render(), torch.from_numpy(self.labels)

    def keys(self) -> set[tuple[int, ...]]:
        """One hashable key per distinct image (its box positions)."""
        return {tuple(int(v) for v in row) for row in self.boxes}


def _draw_one(rng: np.random.Generator, label: int) -> tuple[int, int, int, int]:
    """One image's boxes as in the official generator: the left box at column
    U{0..9}, the right one at U{x1..27} redrawn (with its row) until |x1-x2| >= 5."""
    base = BASE_ROW[label]
    lo, hi = ROW_JITTER
    x1 = int(rng.integers(0, LEFT_COLUMNS))
    y1 = base + int(rng.integers(lo, hi + 1))
    while True:
        x2 = int(rng.integers(x1, OFF))
        y2 = base + int(rng.integers(lo, hi + 1))
        if abs(x1 - x2) >= MIN_GAP:
            break
    if label == 0:  # red left of green
        return (y1, x1, y2, x2)
    return (y2, x2, y1, x1)  # green left of red


def draw_boxes(seed: int, split: str, n: int, exclude: set | frozenset = frozenset()) -> BoxSet:
    """``n`` images of ``split``, classes alternating (even index class 0).

    Image i is drawn from its own random stream (seed, split, i), so the splits
    are independent and an image does not depend on how many others were drawn.
    An image identical to one in ``exclude`` (the images of earlier splits) is
    redrawn from the same stream, so that no image is shared between splits
    (independent draws from this small space would collide by the dozen)."""
    split_id = SPLIT_IDS[split]
    boxes = np.zeros((n, 4), dtype=np.int64)
    labels = np.arange(n, dtype=np.int64) % 2
    for i in range(n):
        rng = np.random.default_rng([seed, split_id, i])
        while True:
            row = _draw_one(rng, int(labels[i]))
            if row not in exclude:
                break
        boxes[i] = row
    return BoxSet(boxes, labels)


def dissimilar(similar: BoxSet) -> BoxSet:
    """The dissimilar test set: every box of class 0 moved 16 rows down, of class 1
    16 rows up, so that each class sits where the other class was trained."""
    shift = np.where(similar.labels == 0, SHIFT, -SHIFT)[:, None]
    boxes = similar.boxes.copy()
    boxes[:, [0, 2]] += shift
    return BoxSet(boxes, similar.labels.copy())


def make_box_sets(data_seed: int, sizes: dict) -> dict[str, BoxSet]:
    """Train, val and similar test sets from separate random streams (the official
    code reuses one seed, so its splits overlap), plus the dissimilar test set.
    A later split never repeats an image of an earlier one."""
    sets: dict[str, BoxSet] = {}
    seen: set = set()
    for split in DATA_SPLITS:
        sets[split] = draw_boxes(data_seed, split, int(sizes[split]), frozenset(seen))
        seen |= sets[split].keys()
    sets["similar"] = sets.pop("test")
    sets["dissimilar"] = dissimilar(sets["similar"])
    return sets


# ---------------------------------------------------------------- network
class RedGreenNet(nn.Module):
    """Four 3x3 convs without bias (3->32 s1, 32->32 s2, 32->64 s2, 64->64 s2),
    ReLU after each, global max pooling, linear 64->2; every conv uses the
    variant's padding scheme and pad."""

    LAYERS = ((3, 32, 1), (32, 32, 2), (32, 64, 2), (64, 64, 2))

    def __init__(self, variant: str):
        super().__init__()
        scheme, pad = VARIANTS[check_variant(variant)]
        self.variant = variant
        self.convs = nn.ModuleList(
            conv2d(i, o, 3, stride=s, padding=pad, bias=False, scheme=scheme)
            for i, o, s in self.LAYERS
        )
        self.fc = nn.Linear(self.LAYERS[-1][1], 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last conv's feature map (before global pooling). The ReLU overwrites
        the conv's fresh output (no conv backward needs it): the same values and
        gradients without a second feature map per layer (~5 % of a CPU step)."""
        for conv in self.convs:
            x = F.relu(conv(x), inplace=True)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.amax(self.features(x), dim=(2, 3)))


# ---------------------------------------------------------------- training
@torch.no_grad()
def loss_and_accuracy(net: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 500):
    """(mean cross-entropy, accuracy in %) of ``net`` in eval mode."""
    net.eval()
    # sums stay on the data's device (float64, as the host floats they replace): one read
    loss = torch.zeros((), dtype=torch.float64, device=X.device)
    correct = torch.zeros((), dtype=torch.int64, device=X.device)
    for i in range(0, len(y), batch_size):
        logits = net(X[i : i + batch_size])
        loss += F.cross_entropy(logits, y[i : i + batch_size], reduction="sum").double()
        correct += (logits.argmax(1) == y[i : i + batch_size]).sum()
    return loss.item() / len(y), 100.0 * correct.item() / len(y)


def train_epoch(net, optimizer, X, y, batch_size: int) -> float:
    """One pass over the training set in its fixed order (the official code does
    not shuffle; classes alternate, so every batch is balanced). Returns the mean loss."""
    net.train()
    total = torch.zeros((), dtype=torch.float64, device=X.device)  # no host read per step
    for i in range(0, len(y), batch_size):
        loss = F.cross_entropy(net(X[i : i + batch_size]), y[i : i + batch_size])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach().double() * len(y[i : i + batch_size])
    return total.item() / len(y)


def fit(net, data: dict, max_epochs: int, patience: int, batch_size: int, progress=None) -> dict:
    """Train with Adadelta; stop when the validation loss has not improved for
    ``patience`` epochs; load the weights of the best validation loss into ``net``.
    Returns the training history summary, with the best epoch's validation accuracy
    (the loaded weights' own: the net has no batch statistics, so evaluating them
    again would give the same number)."""
    optimizer = torch.optim.Adadelta(net.parameters(), **ADADELTA)
    (Xtr, ytr), (Xval, yval) = data["train"], data["val"]
    best = {"val_loss": float("inf"), "val_accuracy": float("nan"), "epoch": 0,
            "state": copy.deepcopy(net.state_dict())}  # fmt: skip
    epochs_run, losses, accuracies = 0, [], []
    for epoch in range(1, max_epochs + 1):
        train_loss = train_epoch(net, optimizer, Xtr, ytr, batch_size)
        val_loss, val_acc = loss_and_accuracy(net, Xval, yval)
        epochs_run = epoch
        losses.append(val_loss)
        accuracies.append(val_acc)
        if val_loss < best["val_loss"]:
            best = {"val_loss": val_loss, "val_accuracy": val_acc, "epoch": epoch,
                    "state": copy.deepcopy(net.state_dict())}  # fmt: skip
        if progress is not None:
            progress.set_postfix(ep=epoch, train=f"{train_loss:.3f}", val=f"{val_loss:.3f}")
        if epoch - best["epoch"] >= patience:
            break
    net.load_state_dict(best["state"])
    if best["epoch"] == 0:  # no epoch had a finite validation loss: the initial weights' accuracy
        best["val_accuracy"] = loss_and_accuracy(net, Xval, yval)[1]
    return {"best_epoch": best["epoch"], "epochs_run": epochs_run, "val_loss": best["val_loss"],
            "val_accuracy": best["val_accuracy"], "converged": has_plateaued(losses, patience, val_accuracies=accuracies)}  # fmt: skip


# a seed still improving its best validation loss by more than this share over its last
# `patience` epochs when the epoch limit stopped it has not converged
PLATEAU_TOLERANCE = 0.01


def has_plateaued(val_losses, patience: int, *, val_accuracies=None,
                  tolerance: float = PLATEAU_TOLERANCE) -> bool:  # fmt: skip
    """The convergence rule of a Red-Green seed: early stopping ended its training (its
    validation loss had not improved for ``patience`` epochs), or, stopped by the epoch
    limit, its best validation loss improved by less than ``tolerance`` (relative) over the
    last ``patience`` epochs (a noisy plateau), or its validation accuracy (per epoch,
    ``val_accuracies``, by keyword) reached no new best in those epochs: its decisions had
    stopped changing. The last case is a net that separates the classes (V-Conv at 100 %)
    while the cross-entropy still shrinks because its logits keep growing. A seed whose
    loss and accuracy still improve has not converged.

    A non-finite loss (a NaN from a diverged first epoch) is never a best (it counts as
    +inf, as in :func:`fit`, which keeps the best finite epoch), a NaN accuracy never a new
    best; a seed with no finite loss at all has not converged."""
    losses = [float(v) if math.isfinite(float(v)) else math.inf for v in val_losses]
    if not losses or not any(math.isfinite(v) for v in losses):
        return False
    best = min(losses)
    if len(losses) - 1 - losses.index(best) >= patience:
        return True
    if len(losses) <= patience:
        return False
    before = min(losses[:-patience])
    if math.isfinite(before) and before > 0 and (before - best) / before < tolerance:
        return True
    accuracies = [float(v) if math.isfinite(float(v)) else -math.inf
                  for v in (val_accuracies if val_accuracies is not None else [])]  # fmt: skip
    if len(accuracies) != len(losses):
        return False
    return max(accuracies[-patience:]) <= max(accuracies[:-patience]) and math.isfinite(max(accuracies))


def run_seed(variant: str, seed: int, data: dict, cfg: dict, progress=None) -> list[dict]:
    """Train one net (``seed`` sets the initialisation, made on the CPU: the same on
    any device) on the device of ``data``'s tensors and test it on both test sets;
    one result row per test set. The per-seed reference of :func:`fit_seeds`."""
    t0 = time.time()
    torch.manual_seed(seed)
    net = RedGreenNet(variant).to(data["train"][0].device)
    history = fit(net, data, cfg["max_epochs"], cfg["patience"], cfg["batch_size"], progress)
    return result_rows(net, variant, seed, data, history, time.time() - t0)


def fit_seeds(variant: str, seeds, data: dict, max_epochs: int, patience: int, batch_size: int,
              progress=None) -> list[tuple[nn.Module, dict]]:
    """Every seed's net trained at once, as one batched model, with the result of
    :func:`fit` per seed (equal to the per-seed loop up to float rounding; a test).

    The seeds' parameters are stacked (``torch.func.stack_module_state``) and the
    net runs under ``torch.vmap`` over them; the loss is the sum of the seeds' own
    batch means, so each seed's gradient is its own, and Adadelta updates every
    element independently. Early stopping is tracked per seed: a seed whose
    validation loss has not improved for ``patience`` epochs is done (it may go on
    training with the others, but its later epochs are ignored) and gets the
    weights of its best epoch; its validation accuracy is measured again on those
    restored weights (one pass per seed). Returns ``(net, history)`` per seed, in order."""
    from torch.func import functional_call, stack_module_state

    device = data["train"][0].device
    nets = []
    for seed in seeds:
        torch.manual_seed(int(seed))  # the same initialisation as run_seed (made on the CPU)
        nets.append(RedGreenNet(variant).to(device))
    params, _ = stack_module_state(nets)
    base = copy.deepcopy(nets[0]).to("meta")
    logits = torch.vmap(lambda p, x: functional_call(base, p, (x,)), in_dims=(0, None))
    optimizer = torch.optim.Adadelta(list(params.values()), **ADADELTA)
    (Xtr, ytr), (Xval, yval) = data["train"], data["val"]
    n_seeds = len(nets)

    def snapshot(i):
        return {k: v[i].detach().clone() for k, v in params.items()}

    def val_losses_and_accuracies() -> tuple[list[float], list[float]]:
        """Every seed's mean validation cross-entropy and accuracy (%), as
        loss_and_accuracy() computes them."""
        with torch.no_grad():
            total = torch.zeros(n_seeds, dtype=torch.float64, device=device)
            correct = torch.zeros(n_seeds, dtype=torch.int64, device=device)
            for i in range(0, len(yval), 500):  # the batches of loss_and_accuracy()
                out = logits(params, Xval[i : i + 500])
                y = yval[i : i + 500].expand(n_seeds, -1)
                total += F.cross_entropy(out.transpose(1, 2), y, reduction="none").sum(1).double()
                correct += (out.argmax(2) == y).sum(1)
        return (total / len(yval)).tolist(), (100.0 * correct / len(yval)).tolist()

    best = [{"val_loss": float("inf"), "epoch": 0, "state": snapshot(i)} for i in range(n_seeds)]
    epochs_run = [0] * n_seeds
    val_history: list[list[float]] = [[] for _ in range(n_seeds)]
    acc_history: list[list[float]] = [[] for _ in range(n_seeds)]
    active = list(range(n_seeds))
    for epoch in range(1, max_epochs + 1):
        for i in range(0, len(ytr), batch_size):  # fixed order, as train_epoch
            out = logits(params, Xtr[i : i + batch_size])
            y = ytr[i : i + batch_size].expand(n_seeds, -1)
            loss = F.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(1).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        losses, accuracies = val_losses_and_accuracies()
        for s in list(active):
            epochs_run[s] = epoch
            val_history[s].append(losses[s])
            acc_history[s].append(accuracies[s])
            if losses[s] < best[s]["val_loss"]:
                best[s] = {"val_loss": losses[s], "epoch": epoch, "state": snapshot(s)}
            if epoch - best[s]["epoch"] >= patience:
                active.remove(s)
        if progress is not None:
            progress.set_postfix(ep=epoch, running=len(active))
        if not active:
            break
    out = []
    for s, net in enumerate(nets):
        net.load_state_dict(best[s]["state"])
        # the restored net's own accuracy decides `failed`, as in fit(): the batched
        # model's argmax may differ from it by vmap rounding on a near tie
        history = {"best_epoch": best[s]["epoch"], "epochs_run": epochs_run[s],
                   "val_loss": best[s]["val_loss"], "converged": has_plateaued(val_history[s], patience, val_accuracies=acc_history[s]),
                   "val_accuracy": loss_and_accuracy(net, Xval, yval)[1]}  # fmt: skip
        out.append((net, history))
    return out


def result_rows(net: nn.Module, variant: str, seed: int, data: dict, history: dict,
              seconds: float) -> list[dict]:
    """One result row per test set for a trained net (accuracy in %). The validation
    accuracy is the history's (:func:`fit` measured it on these weights)."""
    rows = []
    for test_set in TEST_SETS:
        _, acc = loss_and_accuracy(net, *data[test_set])
        rows.append({
            "test_set": test_set, "accuracy": acc, "padding": variant,
            "conv_type": conv_type(variant), "seed": seed,
            "train_seconds": round(seconds, 2), **history,
        })  # fmt: skip
    return rows


def flag_failed(runs: pd.DataFrame, min_accuracy: float) -> pd.DataFrame:
    """Add the boolean ``failed`` column: a seed whose validation accuracy (same
    distribution as its training data) is below ``min_accuracy`` did not learn the
    task and says nothing about position; each such seed is named in a warning."""
    return flag_failed_runs(
        runs,
        ~(runs["val_accuracy"] >= min_accuracy),
        ["padding", "seed"],
        lambda row: (
            f"FAILED RUN red-green {row['padding']}/seed{row['seed']}: validation accuracy "
            f"{row['val_accuracy']:.1f}% is below fconv.redgreen.min_accuracy = "
            f"{min_accuracy:.1f}% (chance 50 %); flagged failed=True, left out of the means"
        ),
    )


RESULT_COLUMNS = [
    "padding", "conv_type", "seed", "test_set", "accuracy", "val_accuracy", "val_loss",
    "best_epoch", "epochs_run", "train_seconds", "failed", "converged",
]  # fmt: skip


def spec_with_defaults(spec: dict) -> dict:
    """A job spec: ``variant`` plus the ``fconv.redgreen`` settings (paper-scale defaults)."""
    out = with_defaults(spec, DEFAULTS, "Red-Green", required=("variant",))
    check_variant(out["variant"])
    return out


def run_variant(spec: dict, threads: int = 1, device=None, batched: bool | None = None) -> pd.DataFrame:
    """Every seed of one variant on the same data: a long table, one row per
    seed x test set (accuracy in %), with the ``failed`` flag. Runs on ``device``
    (default: CUDA when present).

    ``batched`` trains the seeds as one batched model (:func:`fit_seeds`, the same
    results); default: on a GPU only. On one CPU thread it is slower than the
    per-seed loop (measured 1.4x for zeros, 2x for none, 10 seeds: the step is
    compute-bound, and a vmapped / grouped convolution is slower than separate
    ones). ``train_seconds`` of batched seeds is the batch's wall time / seeds."""
    from padpos.runtime import select_device

    spec = spec_with_defaults(spec)
    torch.set_num_threads(max(1, threads))
    device = torch.device(device) if device is not None else select_device()
    sets = make_box_sets(spec["data_seed"], spec["sizes"])
    data = {name: tuple(t.to(device) for t in s.tensors()) for name, s in sets.items()}
    seeds = [int(s) for s in spec["seeds"]]
    if batched is None:
        batched = device.type == "cuda"
    rows = []
    if batched:
        t0 = time.time()
        with tqdm(total=1, desc=f"red-green {spec['variant']} x{len(seeds)} seeds",
                  file=sys.stderr) as bar:  # fmt: skip
            fitted = fit_seeds(spec["variant"], seeds, data, spec["max_epochs"],
                               spec["patience"], spec["batch_size"], progress=bar)  # fmt: skip
        seconds = (time.time() - t0) / len(seeds)
        for seed, (net, history) in zip(seeds, fitted):
            rows += result_rows(net, spec["variant"], seed, data, history, seconds)
    else:
        bar = tqdm(seeds, desc=f"red-green {spec['variant']}", file=sys.stderr)
        for seed in bar:
            rows += run_seed(spec["variant"], seed, data, spec, progress=bar)
    runs = flag_failed(pd.DataFrame(rows), spec["min_accuracy"])
    return runs[RESULT_COLUMNS]


def describe_scale(cfg: dict) -> str:
    """'paper scale' or 'reduced: ...' naming the training settings that differ from
    the protocol (figure titles; the number of seeds is shown separately)."""
    sizes = lambda c: {**PAPER["sizes"], **c.get("sizes", {})}  # noqa: E731
    return scale_description(cfg, PAPER, [
        (lambda c: (c["max_epochs"], c["patience"]) != (PAPER["max_epochs"], PAPER["patience"]),
         lambda c: f"max {c['max_epochs']} epochs, patience {c['patience']}"),
        (lambda c: sizes(c) != PAPER["sizes"],
         lambda c: "{train}/{val}/{test} train/val/test images".format(**sizes(c))),
        (lambda c: c["batch_size"] != PAPER["batch_size"], lambda c: f"batch {c['batch_size']}"),
    ])  # fmt: skip
