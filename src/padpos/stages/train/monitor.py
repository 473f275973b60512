"""Watching and resuming a training run: the resume state that can be trusted, and the
epochs as TensorBoard scalars (config ``train.tensorboard``)."""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

from padpos.io import CorruptFileError, ReportedError, load_torch

RESUME_KEYS = ("run_hash", "epoch", "model", "optimizer", "scheduler", "generator", "torch_rng", "history")


def trusted_resume_state(resume_dir: Path, run_hash: str, snapshot_epochs, device, discard: bool = True) -> dict | None:
    """The resume state in ``resume_dir`` if it can be trusted, else None.

    A state is discarded (the folder removed, with a message in the log) when it is
    stale (another spec or data set: its run hash differs), when ``last.pt`` is
    truncated or corrupt, or when a snapshot it has already passed is missing or
    corrupt; training then starts from the beginning instead of trusting it. States
    saved mid-epoch (after a stop signal) carry ``step`` and ``sums`` besides these keys.
    ``discard``: remove an untrusted folder (rank 0 of a data-parallel run only).
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
    if discard:
        shutil.rmtree(resume_dir, ignore_errors=True)
    return None


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


