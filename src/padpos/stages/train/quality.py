"""What a finished (or diverging) run's numbers say about it: the quality floor and the
failed flag, the plateau rule and the converged flag, a training loss that is not finite."""

from __future__ import annotations

import math

from padpos.io import ReportedError


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
