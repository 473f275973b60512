"""The training and evaluation steps: one epoch of SGD, one pass of evaluation, summed on
the device and read back once; in a data-parallel run, over every process's share."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from padpos.stages.train import parallel


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
    loss_sum, correct, n = _epoch_sums(loss_sum, correct, n, device)
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


class EpochStopped(Exception):
    """A stop signal ended the epoch after ``step`` steps; ``sums``: its running sums so far
    (summed over the processes of a data-parallel run)."""

    def __init__(self, step: int, sums: tuple):
        self.step, self.sums = step, sums
        super().__init__(f"stopped after step {step}")


# steps between two checks, in a data-parallel run, whether any process was told to stop
# (one small all-reduce with a host read: not every step)
STOP_CHECK_STEPS = 10


def train_one_epoch(model, batches, optimizer, scheduler, device, amp, progress, start=(0, None), stop=None):
    """One epoch of SGD steps; returns (mean training loss, accuracy %).

    Nothing is read back to the host inside the step: the loss and the number of
    correct predictions are summed on the device and read once, after the epoch
    (the caller checks that the loss is finite then). ``n`` counts samples from the
    batch shapes, which needs no sync. ``start``: (steps of the epoch already done, their
    sums) for an epoch resumed mid-way (``batches`` skips those steps). With ``stop``
    (:class:`StopSignals`) set after a step, :class:`EpochStopped` ends the epoch there.
    In a data-parallel run the gradient is that of the global batch's mean loss."""
    model.train()
    step, sums = start
    loss_sum, correct, n = _zero(device), _zero(device, torch.int64), 0
    if sums is not None and parallel.is_main():
        loss_sum += sums[0].to(device)
        correct += sums[1].to(device)
        n = int(sums[2])
    world = parallel.world_size()
    for x, y in batches:
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with _autocast(device, amp):
            logits = model(_layout(x, device))
            loss = F.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        (loss if world == 1 else loss * _share_of_global_batch(len(y), world, device)).backward()
        optimizer.step()
        scheduler.step()
        loss_sum += loss.detach().double() * len(y)
        correct += (logits.detach().argmax(1) == y).sum()
        n += len(y)
        step += 1
        progress.update(1)
        if stop is not None and _stop_now(stop, step, len(batches), world, device):
            raise EpochStopped(step, _epoch_sums(loss_sum, correct, n, device))
    loss_sum, correct, n = _epoch_sums(loss_sum, correct, n, device)
    mean_loss, accuracy = loss_sum.item() / n, 100.0 * correct.item() / n
    progress.set_postfix(loss=f"{mean_loss:.3f}", acc=f"{accuracy:.1f}")
    return mean_loss, accuracy


def _share_of_global_batch(size: int, world: int, device) -> torch.Tensor:
    """Factor that turns this process's mean loss into its part of the global batch's mean
    after DDP averages the gradients over ``world`` processes: size * world / global size
    (exactly 1 when the batch splits evenly)."""
    total = torch.tensor(float(size), device=device)
    parallel.sum_over_ranks(total)
    return size * world / total


def _stop_now(stop, step: int, steps: int, world: int, device) -> bool:
    """Whether to stop after this step: at once in a 1-process run; in a data-parallel run
    when any process was told to, checked every STOP_CHECK_STEPS steps and at an epoch's
    last step (all processes decide at the same step)."""
    if world == 1:
        return stop.requested
    due = step % STOP_CHECK_STEPS == 0 or step == steps
    return due and parallel.any_rank(stop.requested, device)


def _epoch_sums(loss_sum, correct, n: int, device) -> tuple:
    """The running sums of every process (in a data-parallel run: summed over them)."""
    if parallel.world_size() == 1:
        return loss_sum, correct, n
    total = torch.tensor(n, device=device, dtype=torch.int64)
    parallel.sum_over_ranks(loss_sum, correct, total)
    return loss_sum, correct, int(total.item())
