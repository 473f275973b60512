"""Training of one backbone per (arch, padding, seed): short, explicit, resumable.

A job writes its declared outputs (model, metrics, provenance, snapshots) only at
the very end, atomically. While it runs, it keeps a resume checkpoint after every
epoch in a separate folder (outside the declared outputs, so Snakemake does not
delete it when it re-runs a killed job); a re-run with the same spec continues
from the last finished epoch and produces the same result as an uninterrupted run.
Beside the checkpoint, the folder holds ``metrics.csv``, rewritten after every epoch:
the place to watch a long run (it outlives a failed or killed job; the finished
job's declared ``metrics.csv`` holds the same rows plus the run's flags). With
``train.tensorboard`` the epochs are also TensorBoard scalars (:class:`TensorBoardLog`).
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from padpos import runtime
from padpos.io import (
    CorruptFileError,
    ReportedError,
    atomic_path,
    load_torch,
    save_torch,
    write_csv,
    write_json,
)
from padpos.models import build_model, checkpoint_dict
from padpos.runtime import seed_everything, select_device
from padpos.specs import with_defaults
from padpos.stats import FailedRunWarning

# keys of the train spec that change the trained weights (hashed for resume safety)
DEFAULTS = {
    "epochs": 6,
    "batch_size": 128,
    "lr": 0.05,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "width": 16,
    "augment": True,
    "snapshot_epochs": [],
    "amp": True,
    "num_workers": 0,
    "compile": False,
    "min_test_acc": None,
    "plateau_points": 1.0,
    "tensorboard": False,
}

# keys that change neither the trained weights nor the per-epoch metrics (speed, the
# quality flags read off them at the end, diagnostics): left out of the resume hash
SPEED_ONLY_KEYS = ("num_workers", "compile", "min_test_acc", "plateau_points", "tensorboard")


def quality_floor(min_test_acc: float | None, num_classes: int) -> float:
    """Held-out accuracy (%) below which a run counts as failed: ``min_test_acc`` when set,
    else twice chance (200 / num_classes %), which only a net that learned something passes."""
    if min_test_acc is not None:
        return float(min_test_acc)
    return 2 * 100.0 / num_classes


def is_failed(final_test_acc: float, floor: float) -> bool:
    """A run fails when its final held-out accuracy is below the floor or not a number."""
    return not (final_test_acc >= floor)


def last_epoch_gain(history: list[dict]) -> float:
    """Held-out accuracy (points) the last epoch added to the one before (NaN without two
    trained epochs: epoch 0 is the initialisation)."""
    if len(history) < 3:
        return math.nan
    return float(history[-1]["test_acc"] - history[-2]["test_acc"])


def has_converged(history: list[dict], plateau_points: float) -> bool:
    """The plateau rule: a run has converged when its last epoch added less than
    ``plateau_points`` of held-out accuracy (it was no longer learning); a run of fewer
    than two epochs has not. A claim read on runs that were still learning is not
    evidence either way (docs/protocols.md section 8)."""
    return bool(last_epoch_gain(history) < plateau_points)


WARMUP_FRACTION = 0.2  # of the one-cycle schedule's steps: the learning rate rises, then falls


def warmup_fraction(total_steps: int) -> float:
    """``pct_start`` of the one-cycle schedule: WARMUP_FRACTION, except for a run of
    exactly 1 / WARMUP_FRACTION = 5 steps, where OneCycleLR's warm-up would end at step 0
    and its first step divide by the warm-up's zero length (ZeroDivisionError): two steps
    of warm-up there."""
    return WARMUP_FRACTION if total_steps * WARMUP_FRACTION != 1 else 2 / total_steps


def spec_with_defaults(spec: dict) -> dict:
    return with_defaults(spec, DEFAULTS, "train", required=("arch", "padding", "seed"))


def spec_hash(spec: dict, manifest_sha: str) -> str:
    relevant = {k: v for k, v in spec.items() if k not in SPEED_ONLY_KEYS}
    blob = json.dumps({"spec": relevant, "data": manifest_sha}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


class TrainingDiverged(ReportedError, FloatingPointError):
    """The training loss became NaN or infinite; the message names the run and the epoch."""


def check_finite_loss(loss: float, spec: dict, epoch: int) -> None:
    """Raise TrainingDiverged if an epoch's accumulated training loss is not finite.

    Called once per epoch on the sum over its steps (a NaN or inf in any step
    propagates into the sum), so the loop needs no per-step host synchronisation.
    """
    if math.isfinite(float(loss)):
        return
    raise TrainingDiverged(
        f"training diverged: run {spec['arch']}/{spec['padding']}/seed{spec['seed']} "
        f"(arch {spec['arch']}, padding {spec['padding']}, seed {spec['seed']}): the training "
        f"loss of epoch {epoch} is {float(loss)}; no result was written. Lower train.lr "
        f"(now {spec['lr']}) or check the data, then re-run; with --keep-going the other runs finish."
    )


# ---------------------------------------------------------------- data
class TensorBatches:
    """Mini-batches of in-memory tensors; shuffling and flips come from one generator
    (on the CPU) so that a resumed run draws the same batches on any device.

    The tensors are kept on the training device when they fit (``on_device=None``:
    decided by :func:`fits_on_device`); otherwise they stay in (pinned) host memory
    and each batch is copied asynchronously. The shuffle order and the flips are
    moved to the device once per epoch: no host-device sync per batch."""

    def __init__(
        self, X, y, batch_size, device, shuffle=False, augment=False, generator=None, on_device=None
    ):
        device = torch.device(device)
        if on_device is None:
            on_device = fits_on_device(X.element_size() * X.nelement(), device)
        home = device if on_device else torch.device("cpu")
        self.X, self.y = X.to(home), y.to(home)
        if home != device and device.type == "cuda":
            self.X, self.y = self.X.pin_memory(), self.y.pin_memory()
        self.device = device
        self.batch_size, self.shuffle, self.augment = batch_size, shuffle, augment
        self.generator = generator

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __iter__(self):
        n = len(self.y)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        flips = torch.rand(n, generator=self.generator) < 0.5 if self.augment else None
        home = self.X.device
        order = order.to(home)
        if flips is not None:
            flips = flips.to(home)
        for i in range(0, n, self.batch_size):
            idx = order[i : i + self.batch_size]
            x, y = self.X[idx], self.y[idx]
            if flips is not None:
                # horizontal flips only: crops/translations would move the image border
                x = torch.where(flips[idx][:, None, None, None], x.flip(-1), x)
            if home != self.device:
                x = x.to(self.device, non_blocking=True)
                y = y.to(self.device, non_blocking=True)
            yield x, y


# data sets up to this fraction of the free GPU memory are kept on the GPU
DEVICE_DATA_FRACTION = 0.5


def fits_on_device(nbytes: int, device) -> bool:
    """True on the CPU; on a GPU, when ``nbytes`` is at most DEVICE_DATA_FRACTION of
    its free memory (the rest is for the model, activations and the optimizer)."""
    device = torch.device(device)
    if device.type != "cuda":
        return True
    free, _total = torch.cuda.mem_get_info(device)
    return nbytes <= DEVICE_DATA_FRACTION * free


def load_training_data(manifest: str | Path, spec: dict, device, generator):
    """Train and test batch iterators and the number of classes.

    Data sets held in memory (synthetic, CIFAR) give :class:`TensorBatches` (shuffling
    and flips only). ImageFolder data always goes through DataLoaders, whatever its
    size: with ``augment``, training reads random-resized crops and flips of the
    full source images, which no in-memory centre crop holds (padpos.data.augment)."""
    from padpos import data

    if data.read_manifest(manifest).get("storage") == "index":
        return _loader_batches(manifest, spec, device, generator)
    Xtr, ytr = data.split_tensors(manifest, "train")
    Xte, yte = data.split_tensors(manifest, "test")
    train = TensorBatches(
        Xtr, ytr, spec["batch_size"], device, True, spec["augment"], generator=generator
    )
    test = TensorBatches(Xte, yte, 512, device)
    return train, test, int(max(ytr.max(), yte.max()) + 1)


def _loader_batches(manifest, spec, device, generator):
    """DataLoaders of an ImageFolder data set: shuffled, seeded training items
    (padpos.data.augment.EpochSampler draws each epoch's order and crops from
    ``generator``) and the test split's centre crops, in order."""
    from torch.utils.data import DataLoader

    from padpos import data
    from padpos.data.augment import EpochSampler, TrainImages

    train_split, test_split = data.load_split(manifest, "train"), data.load_split(manifest, "test")
    workers = spec["num_workers"]
    kw = dict(
        num_workers=workers,
        persistent_workers=workers > 0,  # no worker start-up (and dataset copy) per epoch
        pin_memory=torch.device(device).type == "cuda",
        # the loaders draw their workers' base seeds from this generator, never from the
        # run's (a resumed run would draw them again) or torch's global one
        generator=torch.Generator().manual_seed(spec["seed"]),
    )
    train = DataLoader(
        TrainImages(train_split, spec["augment"]),
        batch_size=spec["batch_size"],
        sampler=EpochSampler(len(train_split), generator),
        **kw,
    )
    test = DataLoader(test_split, batch_size=256, **kw)
    return train, test, train_split.num_classes


# ---------------------------------------------------------------- loops
def evaluate_classifier(model: nn.Module, batches, device, amp: bool) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (%) of ``model`` in eval mode (sums kept on the
    device, read once at the end)."""
    model.eval()
    loss_sum, correct, n = _zero(device), _zero(device, torch.int64), 0
    with torch.no_grad(), _autocast(device, amp):
        for x, y in batches:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            logits = model(_layout(x, device)).float()
            loss_sum += F.cross_entropy(logits, y, reduction="sum").double()
            correct += (logits.argmax(1) == y).sum()
            n += len(y)
    return loss_sum.item() / n, 100.0 * correct.item() / n


def _zero(device, dtype=torch.float64) -> torch.Tensor:
    """A scalar accumulator on ``device`` (float64: the sums of the old per-step loop)."""
    return torch.zeros((), dtype=dtype, device=device)


def compile_model(model: nn.Module) -> nn.Module:
    """``torch.compile(model)`` (config ``train.compile``): the first steps compile
    (minutes on a CPU), later ones run fused kernels."""
    return torch.compile(model)


def _autocast(device, amp: bool):
    # bf16 autocast on GPU (no loss scaling needed); plain fp32 on CPU
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and device.type == "cuda")


def _layout(x: torch.Tensor, device) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if device.type == "cuda" else x


def train_one_epoch(model, batches, optimizer, scheduler, device, amp, progress):
    """One epoch of SGD steps; returns (mean training loss, accuracy %).

    Nothing is read back to the host inside the step: the loss and the number of
    correct predictions are summed on the device and read once, after the epoch
    (the caller checks that the loss is finite then). ``n`` counts samples from the
    batch shapes, which needs no sync."""
    model.train()
    loss_sum, correct, n = _zero(device), _zero(device, torch.int64), 0
    for x, y in batches:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with _autocast(device, amp):
            logits = model(_layout(x, device))
            loss = F.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_sum += loss.detach().double() * len(y)
        correct += (logits.detach().argmax(1) == y).sum()
        n += len(y)
        progress.update(1)
    mean_loss, accuracy = loss_sum.item() / n, 100.0 * correct.item() / n
    progress.set_postfix(loss=f"{mean_loss:.3f}", acc=f"{accuracy:.1f}")
    return mean_loss, accuracy


# ---------------------------------------------------------------- watching a run
# in the resume folder: rewritten after every epoch, removed with the resume state
LIVE_METRICS = "metrics.csv"


def write_live_metrics(resume_dir: Path, history: list[dict]) -> None:
    """The epochs so far (the rows of the final metrics.csv, without the run's flags),
    rewritten atomically into ``resume_dir``."""
    write_csv(resume_dir / LIVE_METRICS, pd.DataFrame(history))


TENSORBOARD_SCALARS = {
    "loss/train": "train_loss",
    "loss/test": "test_loss",
    "accuracy/train": "train_acc",
    "accuracy/test": "test_acc",
    "lr": "lr",
}


class TensorBoardLog:
    """TensorBoard scalars of a run (config ``train.tensorboard``), one step per epoch, in
    ``log_dir`` (``tensorboard --logdir logs/<study>/tensorboard`` shows every run).

    A run that starts at epoch 0 first removes the event files of an earlier attempt; a
    resumed one purges the steps from its first epoch on (an attempt killed after logging
    an epoch whose state it did not save), so the curves match the metrics."""

    def __init__(self, log_dir: Path, first_epoch: int):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as err:
            raise ReportedError(
                f"train.tensorboard is true but TensorBoard cannot be imported ({err}): "
                "install the extra (pip install 'padpos[tensorboard]', or pip install "
                "'tensorboard>=2.14') or set train.tensorboard: false"
            ) from None
        log_dir = Path(log_dir)
        if first_epoch == 0:
            for old in log_dir.glob("events.out.tfevents.*"):
                old.unlink()
        self.writer = SummaryWriter(str(log_dir), purge_step=first_epoch or None)

    def epoch(self, row: dict) -> None:
        """Log one epoch's row of metrics.csv (NaN values, epoch 0's training ones, left
        out) and flush it, so that a watcher sees it at once."""
        for tag, column in TENSORBOARD_SCALARS.items():
            value = float(row[column])
            if math.isfinite(value):
                self.writer.add_scalar(tag, value, row["epoch"])
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


# ---------------------------------------------------------------- the job
def _manifest_sha(manifest: Path) -> str:
    return hashlib.sha256(Path(manifest).read_bytes()).hexdigest()


RESUME_KEYS = ("run_hash", "epoch", "model", "optimizer", "scheduler", "generator", "torch_rng", "history")


def trusted_resume_state(resume_dir: Path, run_hash: str, snapshot_epochs, device) -> dict | None:
    """The resume state in ``resume_dir`` if it can be trusted, else None.

    A state is discarded (the folder removed, with a message in the log) when it is
    stale (another spec or data set: its run hash differs), when ``last.pt`` is
    truncated or corrupt, or when a snapshot it has already passed is missing or
    corrupt; training then starts from the beginning instead of trusting it.
    """
    state_path = resume_dir / "last.pt"
    if not state_path.is_file():
        return None
    problem = None
    try:
        state = load_torch(state_path, "resume state", map_location=device, weights_only=False)
    except CorruptFileError as err:
        state, problem = None, f"it is truncated or corrupt ({err})"
    if state is not None:
        if not isinstance(state, dict) or not set(RESUME_KEYS) <= set(state):
            problem = "it lacks parts of a resume state (written by another version?)"
        elif state["run_hash"] != run_hash:
            problem = "it is stale: the train spec or the data changed since it was written"
        else:
            for e in snapshot_epochs:
                snap = resume_dir / f"snapshot_e{e}.pt"
                if e > state["epoch"]:
                    continue
                try:
                    load_torch(snap, "snapshot", map_location="cpu", weights_only=False)
                except (CorruptFileError, FileNotFoundError) as err:
                    problem = f"its snapshot of epoch {e} is unusable ({err})"
                    break
    if problem is None:
        return state
    print(
        f"discarding resume state {state_path}: {problem}; training starts from the beginning",
        file=sys.stderr,
    )
    shutil.rmtree(resume_dir)
    return None


def train_model(
    spec: dict,
    manifest: str | Path,
    out_dir: str | Path,
    resume_dir: str | Path,
    threads: int = 1,
    tensorboard_dir: str | Path | None = None,
) -> dict:
    """Train ``spec['arch']`` with ``spec['padding']`` and seed ``spec['seed']``.

    Writes ``model.pt``, ``metrics.csv`` (one row per epoch, epoch 0 = initialisation),
    ``provenance.json`` and ``snapshot_e{E}.pt`` for E in ``snapshot_epochs`` into
    ``out_dir``. Returns the provenance dict. While it runs, ``resume_dir`` holds the
    resume state and the metrics so far (``metrics.csv``, after every epoch); with
    ``spec['tensorboard']``, TensorBoard event files go to ``tensorboard_dir`` (default
    ``out_dir/tensorboard``).
    """
    t0 = time.time()
    spec = spec_with_defaults(spec)
    manifest, out_dir, resume_dir = Path(manifest), Path(out_dir), Path(resume_dir)
    torch.set_num_threads(max(1, threads))
    device = select_device()
    seed_everything(spec["seed"], device)
    manifest_sha = _manifest_sha(manifest)
    run_hash = spec_hash(spec, manifest_sha)

    generator = torch.Generator().manual_seed(spec["seed"])
    train_batches, test_batches, num_classes = load_training_data(manifest, spec, device, generator)
    with open(manifest) as fh:
        image_size = json.load(fh).get("image_size")

    torch.manual_seed(spec["seed"])  # the seed sets the initialisation
    model = build_model(spec["arch"], spec["padding"], num_classes, width=spec["width"])
    model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    # the compiled module shares the model's parameters; evaluation and checkpoints use
    # the eager model (same state_dict keys)
    step_model = compile_model(model) if spec["compile"] else model
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=spec["lr"],
        momentum=spec["momentum"],
        weight_decay=spec["weight_decay"],
        nesterov=spec["momentum"] > 0,
    )
    total_steps = max(1, spec["epochs"] * len(train_batches))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=spec["lr"], total_steps=total_steps, pct_start=warmup_fraction(total_steps)
    )
    meta = {
        "arch": spec["arch"],
        "padding": spec["padding"],
        "num_classes": num_classes,
        "width": spec["width"],
        "seed": spec["seed"],
        "image_size": image_size,
    }

    state_path = resume_dir / "last.pt"
    history: list[dict] = []
    start_epoch, resumed_from = 1, None
    state = trusted_resume_state(resume_dir, run_hash, spec["snapshot_epochs"], device)
    if state is not None:
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            generator.set_state(state["generator"])
            torch.set_rng_state(state["torch_rng"])
        except (KeyError, RuntimeError, ValueError, TypeError) as err:
            # a state from an incompatible version of the code: start over rather than guess
            print(
                f"discarding resume state {state_path}: it does not fit this model ({err}); "
                "training starts from the beginning",
                file=sys.stderr,
            )
            shutil.rmtree(resume_dir)
            return train_model(spec, manifest, out_dir, resume_dir, threads, tensorboard_dir)
        history, start_epoch = state["history"], state["epoch"] + 1
        resumed_from = state["epoch"]
        print(f"resuming from epoch {state['epoch']} ({state_path})", file=sys.stderr)
        write_live_metrics(resume_dir, history)  # a kill between state and metrics left it behind
    tensorboard = None
    if spec["tensorboard"]:
        tb_dir = out_dir / "tensorboard" if tensorboard_dir is None else Path(tensorboard_dir)
        tensorboard = TensorBoardLog(tb_dir, 0 if resumed_from is None else start_epoch)

    def snapshot(epoch: int, bn_estimated: bool) -> None:
        if epoch in spec["snapshot_epochs"]:
            m = {**meta, "epoch": epoch, "bn_estimated": bn_estimated}
            save_torch(resume_dir / f"snapshot_e{epoch}.pt", checkpoint_dict(model, m))

    def record(epoch, train_loss, train_acc):
        test_loss, test_acc = evaluate_classifier(model, test_batches, device, spec["amp"])
        history.append(
            {
                "arch": spec["arch"],
                "padding": spec["padding"],
                "seed": spec["seed"],
                "epoch": epoch,
                "train_loss": train_loss,
                "train_acc": train_acc,
                "test_loss": test_loss,
                "test_acc": test_acc,
                "lr": scheduler.get_last_lr()[0],
            }
        )
        if tensorboard is not None:
            tensorboard.epoch(history[-1])

    def save_state(epoch):
        state = {
            "run_hash": run_hash,
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "generator": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": history,
        }
        save_torch(state_path, state)
        write_live_metrics(resume_dir, history)

    if start_epoch == 1:
        # epoch 0 = the initialisation: its BN statistics were never estimated
        snapshot(0, bn_estimated=False)
        record(0, float("nan"), float("nan"))
        save_state(0)

    label = f"{spec['arch']}/{spec['padding']}/seed{spec['seed']}"
    remaining = (spec["epochs"] - start_epoch + 1) * len(train_batches)
    with tqdm(total=max(0, remaining), desc=label, unit="batch", file=sys.stderr) as progress:
        for epoch in range(start_epoch, spec["epochs"] + 1):
            progress.set_description(f"{label} epoch {epoch}/{spec['epochs']}")
            tr_loss, tr_acc = train_one_epoch(
                step_model, train_batches, optimizer, scheduler, device, spec["amp"], progress
            )
            check_finite_loss(tr_loss, spec, epoch)  # once per epoch, on the epoch's sum
            record(epoch, tr_loss, tr_acc)
            snapshot(epoch, bn_estimated=True)
            save_state(epoch)
    if tensorboard is not None:
        tensorboard.close()

    # declared outputs: written at the end, each atomically
    out_dir.mkdir(parents=True, exist_ok=True)
    for epoch in spec["snapshot_epochs"]:
        src = resume_dir / f"snapshot_e{epoch}.pt"
        if not src.is_file():
            raise FileNotFoundError(f"snapshot for epoch {epoch} missing in {resume_dir}")
        with atomic_path(out_dir / f"snapshot_e{epoch}.pt") as tmp:
            shutil.copyfile(src, tmp)  # already a finished checkpoint file: copy, don't re-pickle
    final_acc = history[-1]["test_acc"]
    floor = quality_floor(spec["min_test_acc"], num_classes)
    failed = is_failed(final_acc, floor)
    converged = has_converged(history, spec["plateau_points"]) and not failed
    # the flags travel with the model: every stage that probes it marks its rows
    final_meta = {**meta, "epoch": spec["epochs"], "bn_estimated": spec["epochs"] > 0,
                  "failed": failed, "converged": converged}  # fmt: skip
    save_torch(out_dir / "model.pt", checkpoint_dict(model.cpu(), final_meta))
    if failed:
        warnings.warn(
            f"FAILED RUN {label}: final held-out accuracy {final_acc:.1f}% is below the floor "
            f"{floor:.1f}% (train.min_test_acc); it is flagged failed=True in metrics.csv and "
            "provenance.json and left out of the tables' means",
            FailedRunWarning,
            stacklevel=2,
        )
    if not converged and not failed:
        print(
            f"UNCONVERGED RUN {label}: the last epoch added {last_epoch_gain(history):.2f} points of "
            f"held-out accuracy (plateau: < {spec['plateau_points']} points, train.plateau_points); "
            "claims read on it are inconclusive",
            file=sys.stderr,
        )
    metrics = pd.DataFrame(history)
    metrics["failed"] = failed  # per-run flags, repeated on every epoch row
    metrics["converged"] = converged
    write_csv(out_dir / "metrics.csv", metrics)
    provenance = runtime.provenance(
        spec,
        t0,
        device,
        run_hash=run_hash,
        data_manifest=str(manifest),
        data_manifest_sha256=manifest_sha,
        amp=bool(spec["amp"] and device.type == "cuda"),
        resumed_from_epoch=resumed_from,
        final_test_acc=final_acc,
        min_test_acc=floor,
        failed=failed,
        converged=converged,
        last_epoch_gain=last_epoch_gain(history),
    )
    write_json(out_dir / "provenance.json", provenance)
    shutil.rmtree(resume_dir, ignore_errors=True)  # finished: the resume state is no longer needed
    return provenance
