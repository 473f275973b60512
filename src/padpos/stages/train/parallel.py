"""Data-parallel training (DistributedDataParallel over the GPUs of one job, or over CPU
processes with gloo): who this process is, the sums every process needs, and the launch
through ``torchrun``.

``padpos train`` with ``nproc > 1`` claims that many GPU slots (a local run) and starts
itself under ``torchrun --standalone --nproc-per-node=<nproc>``; each worker trains on its
share of every global batch (padpos.stages.train.batches), DDP averages the gradients, and
rank 0 alone writes checkpoints, metrics and outputs. BatchNorm is synchronised across
the processes on GPUs (SyncBatchNorm); on the CPU (gloo, the test setting) each process
normalises by its share of the batch, so a 2-process CPU run differs from a 1-process run
by that batch statistic only (docs/cluster.md states the measured difference)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    """This process's place in a data-parallel run (rank 0 of 1 when there is none)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def parallel(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """The process that writes: checkpoints, metrics, outputs, the progress bar."""
        return self.rank == 0


def from_environment(environ=None) -> Ranks:
    """The ranks torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK); rank 0 of 1 without them."""
    environ = os.environ if environ is None else environ
    world = int(environ.get("WORLD_SIZE", 1))
    if world <= 1:
        return Ranks()
    return Ranks(int(environ["RANK"]), world, int(environ.get("LOCAL_RANK", 0)))


def device_of(ranks: Ranks, selected: torch.device) -> torch.device:
    """A worker's GPU is the one of its local rank among the job's GPUs."""
    if ranks.parallel and selected.type == "cuda":
        torch.cuda.set_device(ranks.local_rank)
        return torch.device("cuda", ranks.local_rank)
    return selected


def start(ranks: Ranks, device: torch.device) -> None:
    """Join the process group (NCCL on GPUs, gloo on the CPU)."""
    if ranks.parallel and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def stop(ranks: Ranks) -> None:
    if ranks.parallel and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, ranks: Ranks, device: torch.device) -> torch.nn.Module:
    """The module the training steps run: DDP around ``model`` in a parallel run."""
    if not ranks.parallel:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def sync_batchnorm(model: torch.nn.Module, ranks: Ranks, device: torch.device) -> torch.nn.Module:
    """SyncBatchNorm in a parallel GPU run (torch's SyncBatchNorm needs GPU tensors)."""
    if ranks.parallel and device.type == "cuda":
        return torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return model


def world_size() -> int:
    """Processes of the running data-parallel run (1 without one)."""
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def sum_over_ranks(*values: torch.Tensor) -> None:
    """Sum each tensor over every process, in place (nothing in a 1-process run)."""
    if dist.is_initialized():
        for v in values:
            dist.all_reduce(v)


def any_rank(flag: bool, device: torch.device) -> bool:
    """True when the flag is set on any process (the flag itself in a 1-process run)."""
    if not dist.is_initialized():
        return flag
    t = torch.tensor(int(flag), device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def share_buffers(model: torch.nn.Module) -> None:
    """Give every process rank 0's buffers (BatchNorm running statistics), so that all
    evaluate, and rank 0 saves, one model."""
    if dist.is_initialized():
        for b in model.buffers():
            dist.broadcast(b, 0)


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def launch(argv: list[str], nproc: int) -> int:
    """Run ``python -m padpos <argv>`` as ``nproc`` torchrun workers on this node; the
    exit status of torchrun. SIGTERM and SIGUSR1 (a scheduler's warning) reach the
    workers as SIGTERM through torchrun, which waits for them: each saves its state."""
    from padpos.runtime import claim_gpu_slots, visible_gpus

    if visible_gpus():
        claim_gpu_slots(nproc)  # the job's GPUs, held until torchrun returns
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "padpos", *argv]  # fmt: skip
    child = subprocess.Popen(cmd)

    def forward(signum, frame):
        child.send_signal(signal.SIGTERM)

    old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGUSR1)}
    try:
        return child.wait()
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
