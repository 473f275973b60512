"""Reliability at the level users live at, the `snakemake` command, on a tiny study:
kill and resume, interrupt, determinism, divergence with --keep-going, and
command-line config overrides.

Every run happens in a temporary copy of the workflow. The tiny study trains one
padding x two seeds for four short epochs (16 steps each, about half a second here),
so that a kill can land mid-epoch; the target is the training table, the smallest
target that needs every training run. One uninterrupted cold run is the reference
that the other tests compare with, byte for byte (CPU, one thread per job).

The kill and interrupt tests wait for a state, never for a time: they watch the
files of the run (one run finished, the other's resume state past its first epoch),
then stop Snakemake and its job (SIGSTOP to the process group), check that state
while nothing can move (the job alive, its resume state at epoch N with N below the
last, none of its outputs, no file half-written), and only then send the signal. So
the signal always reaches a run mid-training, however slow or loaded the machine,
and the re-run must resume from exactly the epoch that was seen.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml
from workflow_helpers import copy_workflow, planned_jobs, snakemake_cmd, backbone_runs
from workflow_helpers import snakemake as run_snakemake

pytestmark = pytest.mark.workflow

STUDY = "rel"
SEEDS = [0, 1]
TINY = {
    "study": STUDY,
    "data": {"dataset": "synthetic", "image_size": 32, "num_train": 512, "num_test": 64, "seed": 7},
    "archs": ["small_resnet"],
    "paddings": ["zeros"],
    "seeds": SEEDS,
    # 16 steps per epoch; after the first epoch three more, so that the run is mid-training
    # for a while (the tests freeze it there: see the module docstring)
    "train": {"epochs": 4, "batch_size": 32, "lr": 0.05, "width": 8, "snapshot_epochs": [0]},
    "posenet": {
        "epochs": 1,
        "batch_size": 8,
        "num_train_images": 16,
        "num_test_images": 8,
        "noise_images": 1,
        "num_examples": 1,
        "alone_paddings": [1],
    },
}


# ---------------------------------------------------------------- paths (the one place to port)
def table(name: str) -> str:
    """A table of the study, relative to the workflow folder (also a Snakemake target)."""
    return f"results/{STUDY}/tables/{name}.csv"


def run_dir(work: Path, seed: int, padding: str = "zeros") -> Path:
    return work / f"results/{STUDY}/train/small_resnet/{padding}/seed{seed}"


def train_log(work: Path, seed: int, padding: str = "zeros") -> Path:
    return work / f"logs/{STUDY}/train/small_resnet_{padding}_seed{seed}.log"


def resume_state(work: Path, seed: int, padding: str = "zeros") -> Path:
    """The run's resume state (rule train's resume_dir), rewritten after every epoch."""
    return work / f"results/{STUDY}/checkpoints/small_resnet/{padding}/seed{seed}/last.pt"


def train_outputs(work: Path, seed: int) -> list[Path]:
    """The declared outputs of a training run (rule train)."""
    names = ["model.pt", "metrics.csv", "provenance.json"]
    names += [f"snapshot_e{e}.pt" for e in TINY["train"]["snapshot_epochs"]]
    return [run_dir(work, seed) / n for n in names]


TARGET = table("training")


# ---------------------------------------------------------------- helpers
def workflow_copy(dest: Path, **changes) -> Path:
    copy_workflow(dest)
    (dest / "tiny.yaml").write_text(yaml.safe_dump({**TINY, **changes}))
    return dest


def snakemake(work: Path, *args: str, cores: int = 2, check: bool = True, timeout: int = 600):
    """Snakemake on the tiny study (unless the call names another config file)."""
    args = (*args, "--configfile", "tiny.yaml") if "--configfile" not in args else args
    return run_snakemake(work, *args, cores=cores, check=check, timeout=timeout)


# Runs the Python command line that follows with SIGINT at its default, as in a terminal.
# A process started in the background by a shell without job control (`pytest &`, nohup,
# some CI runners) inherits SIGINT ignored, and Python then installs no KeyboardInterrupt
# handler: Snakemake and its jobs would never see the Ctrl-C that the interrupt test sends.
WITH_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


@pytest.fixture
def start():
    """start(work, *args): Snakemake in its own process group (with its jobs), output in
    work/snakemake.out, SIGINT at its default. Whatever a test leaves of the group
    (stopped, even) is killed."""
    started = []

    def start(work: Path, *args: str, cores: int = 1) -> subprocess.Popen:
        python, *rest = snakemake_cmd("--cores", str(cores), *args, "--configfile", "tiny.yaml")
        with open(work / "snakemake.out", "w") as out:
            proc = subprocess.Popen(
                [python, "-c", WITH_DEFAULT_SIGINT, *rest],
                cwd=work,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        for sig in (signal.SIGKILL, signal.SIGCONT):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
        proc.wait()


def group_pids(pgid: int) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if os.getpgid(int(d.name)) == pgid:
                    pids.append(int(d.name))
            except (ProcessLookupError, PermissionError):
                pass
    return pids


def process_state(pid: int) -> str | None:
    """The state letter of /proc/PID/stat (R, S, T = stopped, Z ...), None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def ignores_sigint(pid: int) -> bool:
    """Whether the process ignores SIGINT (its SigIgn mask in /proc/PID/status)."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = int(status.split("SigIgn:", 1)[1].split()[0], 16)
    return bool(mask & (1 << (signal.SIGINT - 1)))


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (FileNotFoundError, ProcessLookupError):
        return []


def train_job_pids(pgid: int, seed: int) -> list[int]:
    """The `padpos train` processes of the run with ``seed`` in the process group."""
    out_dir = str(run_dir(Path(), seed))
    return [
        pid
        for pid in group_pids(pgid)
        if "padpos" in (cmd := command_line(pid)) and "train" in cmd and any(out_dir in a for a in cmd)
    ]


def stop_group(pgid: int, timeout: float = 30) -> None:
    """SIGSTOP the process group and wait until every member is seen stopped (a signal is
    delivered asynchronously: a process on another core may still run for a moment)."""
    os.killpg(pgid, signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(process_state(pid) in ("T", "t", "Z", None) for pid in group_pids(pgid)):
            return
        time.sleep(0.001)
    raise AssertionError(f"process group {pgid} did not stop in {timeout} s")


@dataclass
class MidTraining:
    """What was seen, with Snakemake and its job stopped: ``seed``'s run was training after
    its resume state had saved ``saved_epoch`` (1 <= saved_epoch < epochs), while the other
    run had finished."""

    seed: int
    saved_epoch: int
    job_pids: list[int]


def frozen_state(proc: subprocess.Popen, work: Path, seed: int) -> MidTraining | None:
    """The run's state while the group is stopped, if it is the one the tests need."""
    epochs = TINY["train"]["epochs"]
    others = [s for s in SEEDS if s != seed]
    if not all(p.is_file() for s in others for p in train_outputs(work, s)):
        return None  # the other run has not finished
    jobs = train_job_pids(proc.pid, seed)
    if not jobs or any(p.exists() for p in train_outputs(work, seed)) or temporaries(work):
        return None  # not started or already writing its outputs, or some file half-written
    if not resume_state(work, seed).is_file():
        return None
    saved = torch.load(resume_state(work, seed), map_location="cpu", weights_only=False)["epoch"]
    if not 1 <= saved < epochs:
        return None  # still in its first epoch, or past its last
    return MidTraining(seed, saved, jobs)


def freeze_mid_training(proc: subprocess.Popen, work: Path, timeout: float = 300) -> MidTraining:
    """Wait until one run has finished and the other is training past its first epoch
    (its resume state holds epoch 1 or later); return with Snakemake and its job stopped
    (SIGSTOP) in that state, which the caller then signals. Candidates are found from
    the files (cheap, the group running); each is checked with the group stopped and, if
    it is not the state, the group continues. The state lasts three epochs of the run
    (over a second here), polled every 10 ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "Snakemake ended before a run was seen mid-training:\n" + (
            (work / "snakemake.out").read_text()[-3000:]
        )
        # a hint that a run is past its first epoch: its progress bar (in its log) names a
        # later epoch; the resume state, read with the group stopped, decides
        candidates = [
            s
            for s in SEEDS
            if resume_state(work, s).is_file()
            and not (run_dir(work, s) / "metrics.csv").exists()
            and any((run_dir(work, o) / "metrics.csv").is_file() for o in SEEDS if o != s)
            and re.search(r" epoch ([2-9]|\d\d+)/", train_log(work, s).read_text(errors="replace"))
        ]
        if candidates:
            stop_group(proc.pid)
            try:
                state = frozen_state(proc, work, candidates[0])
            except BaseException:
                os.killpg(proc.pid, signal.SIGCONT)
                raise
            if state is not None:
                return state
            os.killpg(proc.pid, signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError(f"no run was seen training past its first epoch in {timeout} s")


def mtimes(paths) -> dict:
    return {p: p.stat().st_mtime_ns for p in paths}


def temporaries(work: Path) -> list[Path]:
    """Temporary files of padpos.io's atomic writers left in the results."""
    return [p for p in (work / "results").rglob(".*.tmp*")]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> bytes:
    """The training table of one uninterrupted cold run."""
    work = workflow_copy(tmp_path_factory.mktemp("reference"))
    snakemake(work, TARGET)
    return (work / TARGET).read_bytes()


# ---------------------------------------------------------------- determinism
def test_two_cold_runs_give_identical_tables_and_other_seeds_differ(reference, tmp_path):
    work = workflow_copy(tmp_path)
    snakemake(work, TARGET)
    assert (work / TARGET).read_bytes() == reference
    # another seed list (given as Snakemake's documented command-line override):
    # only the new seed trains, and the table changes
    proc = snakemake(work, TARGET, "--config", "seeds=[0,2]")
    assert planned_jobs(proc.stdout + proc.stderr).get("train") == 1, proc.stdout
    assert (work / TARGET).read_bytes() != reference


# ---------------------------------------------------------------- kill and resume
def test_sigkill_mid_epoch_then_rerun_resumes_and_matches(reference, tmp_path, start):
    work = workflow_copy(tmp_path)
    proc = start(work, TARGET)
    seen = freeze_mid_training(proc, work)
    # a power cut: Snakemake and its job die at once, without any clean-up (the group is
    # stopped, so the run dies exactly in the state seen)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for _ in range(100):
        if not group_pids(proc.pid):
            break
        time.sleep(0.05)
    assert not group_pids(proc.pid), "a job outlived the kill"
    assert not [p for p in train_outputs(work, seen.seed) if p.exists()]
    finished = [p for s in SEEDS if s != seen.seed for p in run_dir(work, s).iterdir()]
    finished.append(work / f"results/{STUDY}/data/manifest.json")
    before = mtimes(finished)

    # a killed Snakemake leaves its lock: --unlock (what its message says), then the same command
    snakemake(work, "--unlock", TARGET, cores=1)
    rerun = snakemake(work, TARGET, cores=1)
    assert planned_jobs(rerun.stdout + rerun.stderr) == {"train": 1, "table": 1}, rerun.stdout
    assert mtimes(finished) == before, "finished jobs were redone"
    log = train_log(work, seen.seed).read_text()
    assert f"resuming from epoch {seen.saved_epoch} " in log, (seen, log[-2000:])
    assert (work / TARGET).read_bytes() == reference
    assert not temporaries(work)


# ---------------------------------------------------------------- interrupt
def test_sigint_then_rerun_completes_without_half_written_outputs(reference, tmp_path, start):
    work = workflow_copy(tmp_path)
    proc = start(work, TARGET)
    seen = freeze_mid_training(proc, work)
    deaf = [pid for pid in (proc.pid, *seen.job_pids) if ignores_sigint(pid)]
    assert not deaf, f"processes {deaf} ignore SIGINT: the interrupt could not stop them"
    # Ctrl-C in a terminal signals the whole group; it is delivered as the group continues,
    # before the stopped run can take another step
    os.killpg(proc.pid, signal.SIGINT)
    os.killpg(proc.pid, signal.SIGCONT)
    code = proc.wait(timeout=120)
    text = (work / "snakemake.out").read_text()
    assert code != 0, (seen, text[-3000:])
    assert "Terminating processes on user request" in text, text[-3000:]
    log = train_log(work, seen.seed).read_text()
    assert "KeyboardInterrupt" in log and "trained small_resnet" not in log, log[-2000:]
    for _ in range(100):
        if not group_pids(proc.pid):
            break
        time.sleep(0.05)
    assert not group_pids(proc.pid), "a job outlived the interrupt"
    # nothing half-written kept: no declared output of the stopped run, no temporary file
    assert not [p for p in run_dir(work, seen.seed).glob("*") if p.is_file()], text[-3000:]
    assert not temporaries(work)
    finished = [p for s in SEEDS if s != seen.seed for p in run_dir(work, s).iterdir()]
    before = mtimes(finished)

    rerun = snakemake(work, TARGET, cores=1)  # Snakemake released its lock on the interrupt
    assert planned_jobs(rerun.stdout + rerun.stderr) == {"train": 1, "table": 1}, rerun.stdout
    assert mtimes(finished) == before, "finished jobs were redone"
    log = train_log(work, seen.seed).read_text()
    assert f"resuming from epoch {seen.saved_epoch} " in log, (seen, log[-2000:])
    assert (work / TARGET).read_bytes() == reference
    assert not temporaries(work)


# ---------------------------------------------------------------- divergence
def test_diverging_runs_fail_by_name_and_keep_going_builds_the_rest(tmp_path):
    # lr = 1e9 makes every training run's loss non-finite within its first epochs; PosENet
    # alone (on raw images) depends on the data only, so --keep-going must still build it
    work = workflow_copy(tmp_path, train={**TINY["train"], "lr": 1.0e9})
    proc = snakemake(work, TARGET, table("posenet_alone"), "--keep-going", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for seed in SEEDS:
        log = train_log(work, seed).read_text()
        assert re.search(rf"training diverged: run small_resnet/zeros/seed{seed} .*epoch \d", log), log[-2000:]
        assert "Traceback" not in log, log[-2000:]
        assert not (run_dir(work, seed) / "model.pt").exists()
        assert not (run_dir(work, seed) / "metrics.csv").exists()
    # nothing downstream of the failed runs; everything independent of them
    assert not (work / TARGET).exists()
    assert (work / table("posenet_alone")).is_file()
    # the failures are listed at the end of Snakemake's output, each with its error line
    assert "padpos: 2 job(s) failed" in text, text[-4000:]
    summary = text[text.rindex("padpos: 2 job(s) failed") :]
    for seed in SEEDS:
        assert f"{train_log(work, seed).relative_to(work)}: padpos train: error: training diverged: run small_resnet/zeros/seed{seed} " in summary, summary


# ---------------------------------------------------------------- command-line overrides
@pytest.mark.parametrize(
    "configfile, override",
    [
        ("config.yaml", "seeds=[0,1,2]"),
        ("config/test.yaml", "train={'epochs': 3}"),
        ("config.yaml", "train={'epochs': 3}"),  # later snapshots dropped with a warning
        ("config.yaml", "train={'epochs': 3, 'snapshot_epochs': [0, 1, 3], 'lr': 0.1, 'amp': false}"),
    ],
)
def test_command_line_overrides_are_accepted(tmp_path, configfile, override):
    """Snakemake's documented one-run override: nested values arrive as strings."""
    work = workflow_copy(tmp_path)
    proc = snakemake(work, "-n", "figures/all", "--configfile", configfile, "--config", override)
    cfg = yaml.safe_load((work / configfile).read_text())
    seeds = [0, 1, 2] if override.startswith("seeds") else cfg["seeds"]
    assert planned_jobs(proc.stdout)["train"] == backbone_runs({**cfg, "seeds": seeds})


@pytest.mark.parametrize(
    "override, key",
    [
        ("seeds=[0,x]", "seeds[1]"),
        ("train={'epochs': 'three'}", "train.epochs"),
        ("train={'amp': 'maybe'}", "train.amp"),
    ],
)
def test_command_line_mistakes_are_refused_naming_the_key(tmp_path, override, key):
    work = workflow_copy(tmp_path)
    proc = snakemake(work, "-n", "figures/all", "--configfile", "config.yaml", "--config", override, check=False)
    assert proc.returncode != 0
    assert f"config key '{key}'" in proc.stdout + proc.stderr, proc.stderr[-2000:]
