"""Preemption: a training job told to stop (SIGTERM from SLURM at its time limit or on
preemption, SIGUSR1 sent ahead of the limit with ``sbatch --signal``, SIGTERM from
torchrun) finishes the step it is in, saves the state after it (the last finished step,
mid-epoch) and exits, so that the retried or requeued job resumes from that step."""

from __future__ import annotations

import signal
import threading

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
# exit status of a job that stopped on a signal and saved its state (128 + SIGTERM, what a
# shell reports for a job killed by SIGTERM): a failure to Snakemake, so that it retries
PREEMPTED_EXIT = 143


class Preempted(Exception):
    """The run stopped on a signal after saving its state; a re-run resumes from it."""

    def __init__(self, signum: int, epoch: int, step: int):
        self.signum, self.epoch, self.step = signum, epoch, step
        super().__init__(
            f"stopped by signal {signal.Signals(signum).name} after step {step} of epoch {epoch}: "
            "the state after that step is saved; the same command resumes from it"
        )


class StopSignals:
    """While active (a ``with`` block), SIGTERM and SIGUSR1 only set ``signum``; the
    training loop reads it after every step. Outside the main thread nothing is installed."""

    def __init__(self):
        self.signum: int | None = None
        self._old: dict = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def _handle(self, signum, frame):
        self.signum = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}
        return self

    def __exit__(self, *exc):
        for s, handler in self._old.items():
            signal.signal(s, handler)
        self._old = {}
        return False
