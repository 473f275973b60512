"""Training of one backbone per (arch, padding, seed): short, explicit, resumable.

A job writes its declared outputs (model, metrics, provenance, snapshots) only at
the very end, atomically. While it runs, it keeps a resume checkpoint after every
epoch in a separate folder (outside the declared outputs, so Snakemake does not
delete it when it re-runs a killed job); a re-run with the same spec continues
from the last finished epoch and produces the same result as an uninterrupted run.
A job stopped by SIGTERM / SIGUSR1 (a time limit, preemption) saves the state after the
step it is in and exits; the retry resumes from that step (padpos.stages.train.preemption).
With ``nproc > 1`` the run is data-parallel over torchrun workers (padpos.stages.train.parallel).
Beside the checkpoint, the folder holds ``metrics.csv``, rewritten after every epoch:
the place to watch a long run (it outlives a failed or killed job; the finished
job's declared ``metrics.csv`` holds the same rows plus the run's flags). With
``train.tensorboard`` the epochs are also TensorBoard scalars (:class:`TensorBoardLog`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from padpos import runtime
from padpos.io import atomic_path, save_torch, write_csv, write_json
from padpos.models import build_model, checkpoint_dict
from padpos.runtime import seed_everything, select_device
from padpos.specs import with_defaults
from padpos.stages.train import parallel
from padpos.stages.train.batches import (  # noqa: F401 - the stage's names, in one place
    DEVICE_DATA_FRACTION,
    ShardedBatchSampler,
    TensorBatches,
    fits_on_device,
    load_training_data,
    skip_batches,
)
from padpos.stages.train.monitor import (  # noqa: F401
    RESUME_KEYS,
    TENSORBOARD_SCALARS,
    TensorBoardLog,
    trusted_resume_state,
)
from padpos.stages.train.preemption import Preempted, StopSignals
from padpos.stages.train.quality import (  # noqa: F401
    TrainingDiverged,
    check_finite_loss,
    has_converged,
    is_failed,
    last_epoch_gain,
    quality_floor,
)
from padpos.stages.train.steps import (  # noqa: F401
    STOP_CHECK_STEPS,
    EpochStopped,
    _autocast,
    _layout,
    compile_model,
    evaluate_classifier,
    train_one_epoch,
)
from padpos.stats import FailedRunWarning

# the train spec: what decides the trained weights, and the two settings that decide the
# run's flags (min_test_acc, plateau_points: read off the metrics at the end)
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
    "min_test_acc": None,
    "plateau_points": 1.0,
}

# launch settings: how a run is carried out, changing neither its weights nor its flags
# (data-loader workers, torch.compile, TensorBoard, data-parallel processes). They reach
# the job apart from the spec (the rule's command line, not its params), so changing one
# re-runs nothing finished; a resumed run may use other values than its first attempt.
LAUNCH_DEFAULTS = {
    "num_workers": 0,
    "compile": False,
    "tensorboard": False,
    "nproc": 1,
}

# keys that change neither the trained weights nor the per-epoch metrics: left out of the
# resume hash (the flags' settings; the launch settings are not in the spec at all)
SPEED_ONLY_KEYS = ("min_test_acc", "plateau_points", *LAUNCH_DEFAULTS)


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


# ---------------------------------------------------------------- watching a run
# in the resume folder: rewritten after every epoch, removed with the resume state
LIVE_METRICS = "metrics.csv"


def write_live_metrics(resume_dir: Path, history: list[dict]) -> None:
    """The epochs so far (the rows of the final metrics.csv, without the run's flags),
    rewritten atomically into ``resume_dir``."""
    write_csv(resume_dir / LIVE_METRICS, pd.DataFrame(history))


# ---------------------------------------------------------------- the job
def _manifest_sha(manifest: Path) -> str:
    return hashlib.sha256(Path(manifest).read_bytes()).hexdigest()


@dataclass
class Run:
    """What a training job holds while it runs (built by :func:`setup_run`)."""

    spec: dict
    launch: dict
    manifest: Path
    out_dir: Path
    resume_dir: Path
    tensorboard_dir: Path
    ranks: parallel.Ranks
    device: torch.device
    run_hash: str
    manifest_sha: str
    generator: torch.Generator
    train_batches: object
    test_batches: object
    meta: dict
    started: float
    model: nn.Module = None
    step_model: nn.Module = None
    optimizer: torch.optim.Optimizer = None
    scheduler: object = None
    history: list = field(default_factory=list)
    resumed_from: int | None = None
    tensorboard: TensorBoardLog | None = None

    @property
    def label(self) -> str:
        return f"{self.spec['arch']}/{self.spec['padding']}/seed{self.spec['seed']}"

    @property
    def state_path(self) -> Path:
        return self.resume_dir / "last.pt"


def train_model(
    spec: dict,
    manifest: str | Path,
    out_dir: str | Path,
    resume_dir: str | Path,
    threads: int = 1,
    tensorboard_dir: str | Path | None = None,
    launch: dict | None = None,
) -> dict:
    """Train ``spec['arch']`` with ``spec['padding']`` and seed ``spec['seed']``.

    Writes ``model.pt``, ``metrics.csv`` (one row per epoch, epoch 0 = initialisation),
    ``provenance.json`` and ``snapshot_e{E}.pt`` for E in ``snapshot_epochs`` into
    ``out_dir``. Returns the provenance dict. While it runs, ``resume_dir`` holds the
    resume state and the metrics so far (``metrics.csv``, after every epoch); with
    ``launch['tensorboard']``, TensorBoard event files go to ``tensorboard_dir`` (default
    ``out_dir/tensorboard``). ``launch``: the settings that change no result
    (LAUNCH_DEFAULTS; also accepted inside ``spec``). A SIGTERM or SIGUSR1 saves the state
    after the current step and raises :class:`Preempted`; the same call resumes from it.
    In a torchrun worker (WORLD_SIZE > 1) the run is one process of a data-parallel run.
    """
    started = time.time()
    spec, launch = split_settings(spec, launch)
    ranks = parallel.from_environment()
    torch.set_num_threads(max(1, threads // ranks.world))
    device = parallel.device_of(ranks, select_device())
    parallel.start(ranks, device)
    try:
        run = setup_run(spec, launch, manifest, out_dir, resume_dir, tensorboard_dir, ranks, device, started)
        # handlers in place before the first state is written: once last.pt exists, a signal saves
        with StopSignals() as stop:
            epoch, step, sums = resume_or_start(run)
            epoch_loop(run, epoch, step, sums, stop)
        if run.tensorboard is not None:
            run.tensorboard.close()
        return write_outputs(run)
    finally:
        parallel.stop(ranks)


def split_settings(spec: dict, launch: dict | None) -> tuple[dict, dict]:
    """The result-bearing spec (defaults filled) and the launch settings (LAUNCH_DEFAULTS,
    from ``launch`` or, for callers that pass one dict, from ``spec``)."""
    launch = {**LAUNCH_DEFAULTS, **{k: spec[k] for k in LAUNCH_DEFAULTS if k in spec}, **(launch or {})}
    unknown = set(launch) - set(LAUNCH_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown train launch settings {sorted(unknown)}; known: {sorted(LAUNCH_DEFAULTS)}")
    spec = spec_with_defaults({k: v for k, v in spec.items() if k not in LAUNCH_DEFAULTS})
    return spec, launch


def setup_run(spec, launch, manifest, out_dir, resume_dir, tensorboard_dir, ranks, device, started) -> Run:
    """Seeds, data and the fresh model, optimizer and schedule of a run."""
    seed_everything(spec["seed"], device)
    manifest, out_dir, resume_dir = Path(manifest), Path(out_dir), Path(resume_dir)
    manifest_sha = _manifest_sha(manifest)
    generator = torch.Generator().manual_seed(spec["seed"])
    train_batches, test_batches, num_classes = load_training_data(
        manifest, spec, device, generator, launch["num_workers"], ranks.rank, ranks.world
    )
    with open(manifest) as fh:
        image_size = json.load(fh).get("image_size")
    meta = {"arch": spec["arch"], "padding": spec["padding"], "num_classes": num_classes,
            "width": spec["width"], "seed": spec["seed"], "image_size": image_size}  # fmt: skip
    run = Run(
        spec, launch, manifest, out_dir, resume_dir,
        out_dir / "tensorboard" if tensorboard_dir is None else Path(tensorboard_dir),
        ranks, device, spec_hash(spec, manifest_sha), manifest_sha, generator,
        train_batches, test_batches, meta, started,
    )  # fmt: skip
    fresh_training(run)
    return run


def fresh_training(run: Run) -> None:
    """The initialised model (the seed sets it), its optimizer and one-cycle schedule, and
    the data generator at its seed: the state of a run at its start."""
    spec, device = run.spec, run.device
    run.generator.manual_seed(spec["seed"])
    torch.manual_seed(spec["seed"])  # the seed sets the initialisation
    model = build_model(spec["arch"], spec["padding"], run.meta["num_classes"], width=spec["width"])
    model = parallel.sync_batchnorm(model, run.ranks, device).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    # the compiled / DDP module shares the model's parameters; evaluation and checkpoints
    # use the eager model (same state_dict keys)
    step_model = parallel.wrap(model, run.ranks, device)
    run.model, run.step_model = model, compile_model(step_model) if run.launch["compile"] else step_model
    run.optimizer = torch.optim.SGD(
        model.parameters(), lr=spec["lr"], momentum=spec["momentum"],
        weight_decay=spec["weight_decay"], nesterov=spec["momentum"] > 0,
    )  # fmt: skip
    total_steps = max(1, spec["epochs"] * len(run.train_batches))
    run.scheduler = torch.optim.lr_scheduler.OneCycleLR(
        run.optimizer, max_lr=spec["lr"], total_steps=total_steps, pct_start=warmup_fraction(total_steps)
    )
    run.history, run.resumed_from = [], None


def resume_or_start(run: Run) -> tuple[int, int, tuple | None]:
    """Load a trusted resume state, or start: returns where training goes on (epoch, steps
    of it done, the epoch's running sums). A state that does not fit the model (another
    version of the code) is discarded and the run starts over, freshly initialised."""
    while True:
        state = trusted_resume_state(
            run.resume_dir, run.run_hash, run.spec["snapshot_epochs"], run.device, discard=run.ranks.main
        )
        parallel.barrier()  # every process has read the state before rank 0 writes the next one
        if state is None:
            break
        try:
            load_state(run, state)
        except (KeyError, RuntimeError, ValueError, TypeError) as err:
            print(f"discarding resume state {run.state_path}: it does not fit this model ({err}); "
                  "training starts from the beginning", file=sys.stderr)  # fmt: skip
            if run.ranks.main:
                shutil.rmtree(run.resume_dir)
            fresh_training(run)
            continue
        step = state.get("step", 0)
        done = state["epoch"] if step == 0 else f"step {step} of epoch {state['epoch'] + 1}"
        print(f"resuming from epoch {done} ({run.state_path})", file=sys.stderr)
        if run.ranks.main:
            write_live_metrics(run.resume_dir, run.history)  # a kill between state and metrics left it
        open_tensorboard(run, state["epoch"] + 1)
        return state["epoch"] + 1, step, state.get("sums")
    open_tensorboard(run, 0)
    # epoch 0 = the initialisation: its BN statistics were never estimated
    snapshot(run, 0, bn_estimated=False)
    record(run, 0, float("nan"), float("nan"))
    save_state(run, 0)
    return 1, 0, None


def load_state(run: Run, state: dict) -> None:
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    run.generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    run.history, run.resumed_from = state["history"], state["epoch"]


def open_tensorboard(run: Run, first_epoch: int) -> None:
    if run.launch["tensorboard"] and run.ranks.main:
        run.tensorboard = TensorBoardLog(run.tensorboard_dir, first_epoch)


def snapshot(run: Run, epoch: int, bn_estimated: bool) -> None:
    if epoch in run.spec["snapshot_epochs"] and run.ranks.main:
        m = {**run.meta, "epoch": epoch, "bn_estimated": bn_estimated}
        save_torch(run.resume_dir / f"snapshot_e{epoch}.pt", checkpoint_dict(run.model, m))


def record(run: Run, epoch: int, train_loss: float, train_acc: float) -> None:
    """Evaluate the model on the test split and append the epoch's row of metrics.csv."""
    parallel.share_buffers(run.model)
    test_loss, test_acc = evaluate_classifier(run.model, run.test_batches, run.device, run.spec["amp"])
    spec = run.spec
    run.history.append(
        {"arch": spec["arch"], "padding": spec["padding"], "seed": spec["seed"], "epoch": epoch,
         "train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss,
         "test_acc": test_acc, "lr": run.scheduler.get_last_lr()[0]}
    )  # fmt: skip
    if run.tensorboard is not None:
        run.tensorboard.epoch(run.history[-1])


def save_state(run: Run, epoch: int, step: int = 0, epoch_generator=None, sums=None) -> None:
    """Rank 0 saves the resume state after ``epoch`` (``step`` > 0: after that many steps of
    the epoch that follows it, whose batches ``epoch_generator`` draws again, with the
    epoch's running ``sums``) and rewrites the live metrics."""
    if run.ranks.main:
        state = {
            "run_hash": run.run_hash,
            "epoch": epoch,
            "step": step,
            "model": run.model.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(),
            "generator": run.generator.get_state() if epoch_generator is None else epoch_generator,
            "torch_rng": torch.get_rng_state(),
            "history": run.history,
            "sums": sums,
        }
        save_torch(run.state_path, state)
        write_live_metrics(run.resume_dir, run.history)


def epoch_loop(run: Run, first_epoch: int, step: int, sums, stop: StopSignals) -> None:
    """Train from step ``step`` of ``first_epoch`` to the last epoch, evaluating and saving
    the state after each; on a stop signal, save the state after the current step and
    raise :class:`Preempted`."""
    spec, steps = run.spec, len(run.train_batches)
    remaining = (spec["epochs"] - first_epoch + 1) * steps - step
    with tqdm(total=max(0, remaining), desc=run.label, unit="batch", file=sys.stderr,
              disable=not run.ranks.main) as progress:  # fmt: skip
        for epoch in range(first_epoch, spec["epochs"] + 1):
            progress.set_description(f"{run.label} epoch {epoch}/{spec['epochs']}")
            epoch_generator = run.generator.get_state()  # the epoch's draws, for a mid-epoch state
            skip_batches(run.train_batches, step)
            try:
                tr_loss, tr_acc = train_one_epoch(
                    run.step_model, run.train_batches, run.optimizer, run.scheduler, run.device,
                    spec["amp"], progress, start=(step, sums), stop=stop,
                )  # fmt: skip
            except EpochStopped as stopped:
                save_state(run, epoch - 1, stopped.step, epoch_generator, stopped.sums)
                parallel.barrier()  # rank 0 has saved before any worker exits
                raise Preempted(stop.signum or signal.SIGTERM, epoch, stopped.step) from None
            step, sums = 0, None
            check_finite_loss(tr_loss, spec, epoch)  # once per epoch, on the epoch's sum
            record(run, epoch, tr_loss, tr_acc)
            snapshot(run, epoch, bn_estimated=True)
            save_state(run, epoch)


def write_outputs(run: Run) -> dict:
    """The declared outputs, each atomically (rank 0; the others return its provenance-to-be
    without writing): snapshots, the model with the run's flags, metrics.csv, provenance."""
    spec, history = run.spec, run.history
    final_acc = history[-1]["test_acc"]
    floor = quality_floor(spec["min_test_acc"], run.meta["num_classes"])
    failed = is_failed(final_acc, floor)
    converged = has_converged(history, spec["plateau_points"]) and not failed
    provenance = runtime.provenance(
        spec, run.started, run.device, launch=run.launch, world_size=run.ranks.world,
        run_hash=run.run_hash, data_manifest=str(run.manifest),
        data_manifest_sha256=run.manifest_sha, amp=bool(spec["amp"] and run.device.type == "cuda"),
        resumed_from_epoch=run.resumed_from, final_test_acc=final_acc, min_test_acc=floor,
        failed=failed, converged=converged, last_epoch_gain=last_epoch_gain(history),
    )  # fmt: skip
    if not run.ranks.main:
        return provenance
    out_dir = run.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    for epoch in spec["snapshot_epochs"]:
        src = run.resume_dir / f"snapshot_e{epoch}.pt"
        if not src.is_file():
            raise FileNotFoundError(f"snapshot for epoch {epoch} missing in {run.resume_dir}")
        with atomic_path(out_dir / f"snapshot_e{epoch}.pt") as tmp:
            shutil.copyfile(src, tmp)  # already a finished checkpoint file: copy, don't re-pickle
    # the flags travel with the model: every stage that probes it marks its rows
    final_meta = {**run.meta, "epoch": spec["epochs"], "bn_estimated": spec["epochs"] > 0,
                  "failed": failed, "converged": converged}  # fmt: skip
    save_torch(out_dir / "model.pt", checkpoint_dict(run.model.cpu(), final_meta))
    report_flags(run, final_acc, floor, failed, converged)
    metrics = pd.DataFrame(history)
    metrics["failed"] = failed  # per-run flags, repeated on every epoch row
    metrics["converged"] = converged
    write_csv(out_dir / "metrics.csv", metrics)
    write_json(out_dir / "provenance.json", provenance)
    shutil.rmtree(run.resume_dir, ignore_errors=True)  # finished: the resume state is no longer needed
    return provenance


def report_flags(run: Run, final_acc: float, floor: float, failed: bool, converged: bool) -> None:
    if failed:
        warnings.warn(
            f"FAILED RUN {run.label}: final held-out accuracy {final_acc:.1f}% is below the floor "
            f"{floor:.1f}% (train.min_test_acc); it is flagged failed=True in metrics.csv and "
            "provenance.json and left out of the tables' means",
            FailedRunWarning,
            stacklevel=4,
        )
    if not converged and not failed:
        print(
            f"UNCONVERGED RUN {run.label}: the last epoch added {last_epoch_gain(run.history):.2f} points "
            f"of held-out accuracy (plateau: < {run.spec['plateau_points']} points, "
            "train.plateau_points); claims read on it are inconclusive",
            file=sys.stderr,
        )
