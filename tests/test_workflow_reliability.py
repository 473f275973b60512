"""Reliability at the level users live at, the `snakemake` command, on a tiny study:
kill and resume, interrupt, determinism, divergence with --keep-going, and
command-line config overrides.

Every run happens in a temporary copy of the workflow. The tiny study trains one
padding x two seeds for three short epochs (about a second each), so that a kill
can land mid-epoch; the target is the training table, the smallest target that
needs every training run. One uninterrupted cold run is the reference that the
other tests compare with, byte for byte (CPU, one thread per job).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from workflow_helpers import copy_workflow, planned_jobs, snakemake_cmd
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
    # 16 steps per epoch: about a second, so that a kill lands mid-epoch
    "train": {"epochs": 3, "batch_size": 32, "lr": 0.05, "width": 8, "snapshot_epochs": [0]},
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


def start(work: Path, *args: str, cores: int = 1) -> subprocess.Popen:
    """Snakemake in its own process group (with its jobs), output in work/snakemake.out."""
    with open(work / "snakemake.out", "w") as out:
        return subprocess.Popen(
            snakemake_cmd("--cores", str(cores), *args, "--configfile", "tiny.yaml"),
            cwd=work,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


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


def wait_mid_training(proc: subprocess.Popen, work: Path, timeout: float = 300) -> int:
    """Wait until one run has finished and another is in its second epoch (so its first
    epoch is saved in the resume state); return the seed of the unfinished run."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        assert proc.poll() is None, (work / "snakemake.out").read_text()[-3000:]
        finished = [s for s in SEEDS if (run_dir(work, s) / "metrics.csv").is_file()]
        running = [
            s
            for s in SEEDS
            if s not in finished and train_log(work, s).is_file() and "epoch 2/" in train_log(work, s).read_text()
        ]
        if finished and running:
            return running[0]
        time.sleep(0.02)
    raise AssertionError(f"no run reached its second epoch in {timeout} s")


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
def test_sigkill_mid_epoch_then_rerun_resumes_and_matches(reference, tmp_path):
    work = workflow_copy(tmp_path)
    proc = start(work, TARGET)
    killed_seed = wait_mid_training(proc, work)
    # a power cut: Snakemake and its job die at once, without any clean-up
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for _ in range(100):
        if not group_pids(proc.pid):
            break
        time.sleep(0.05)
    assert not group_pids(proc.pid), "a job outlived the kill"
    assert not (run_dir(work, killed_seed) / "model.pt").exists()
    finished = [p for s in SEEDS if s != killed_seed for p in run_dir(work, s).iterdir()]
    finished.append(work / f"results/{STUDY}/data/manifest.json")
    before = mtimes(finished)

    # a killed Snakemake leaves its lock: --unlock (what its message says), then the same command
    snakemake(work, "--unlock", TARGET, cores=1)
    rerun = snakemake(work, TARGET, cores=1)
    assert planned_jobs(rerun.stdout + rerun.stderr) == {"train": 1, "table": 1}, rerun.stdout
    assert mtimes(finished) == before, "finished jobs were redone"
    log = train_log(work, killed_seed).read_text()
    assert re.search(r"resuming from epoch [12] ", log), log[-2000:]
    assert (work / TARGET).read_bytes() == reference
    assert not temporaries(work)


# ---------------------------------------------------------------- interrupt
def test_sigint_then_rerun_completes_without_half_written_outputs(reference, tmp_path):
    work = workflow_copy(tmp_path)
    proc = start(work, TARGET)
    stopped_seed = wait_mid_training(proc, work)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal signals the whole group
    code = proc.wait(timeout=120)
    assert code != 0
    text = (work / "snakemake.out").read_text()
    assert not group_pids(proc.pid), "a job outlived the interrupt"
    # nothing half-written kept: no declared output of the stopped run, no temporary file
    assert not [p for p in run_dir(work, stopped_seed).glob("*") if p.is_file()], text[-3000:]
    assert not temporaries(work)
    finished = [p for s in SEEDS if s != stopped_seed for p in run_dir(work, s).iterdir()]
    before = mtimes(finished)

    rerun = snakemake(work, TARGET, cores=1)  # Snakemake released its lock on the interrupt
    assert planned_jobs(rerun.stdout + rerun.stderr) == {"train": 1, "table": 1}, rerun.stdout
    assert mtimes(finished) == before, "finished jobs were redone"
    assert "resuming from epoch" in train_log(work, stopped_seed).read_text()
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
    assert planned_jobs(proc.stdout)["train"] == len(seeds) * len(cfg["paddings"]) * len(cfg["archs"])


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
