"""Helpers of the tests that run Snakemake itself (test_workflow, test_workflow_reliability,
test_slurm): a private copy of the workflow, a Snakemake run, its planned jobs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# what a user's checkout needs to run the workflow
WORKFLOW_FILES = [
    "Snakefile", "config.yaml", "config", "workflow", "profiles", "src", "environment.yml", "pyproject.toml",
]


def copy_workflow(dest: Path) -> Path:
    """A fresh copy of the workflow in ``dest``, so that a test's results collide with nobody's."""
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def snakemake_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", *args]


def snakemake(work: Path, *args: str, cores: int = 2, check: bool = True, timeout: int = 1800):
    """``snakemake --cores N *args`` in ``work``; with ``check``, a failure raises with the
    tail of its output."""
    proc = subprocess.run(
        snakemake_cmd("--cores", str(cores), *args), cwd=work, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def planned_jobs(text: str) -> dict:
    """Rule -> job count from the (first) 'Job stats' table of Snakemake's output."""
    counts = {}
    if "Job stats:" not in text:
        return counts
    for line in text.split("Job stats:", 1)[1].splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) == "total":
            break
        if m:
            counts[m.group(1)] = int(m.group(2))
    return counts


def backbone_runs(cfg: dict) -> int:
    """Training runs a study plans: every arch x padding x seed, and the padding-free arm."""
    pairs = len(cfg["archs"]) * len(cfg["paddings"]) + (1 if cfg.get("padding_free_arch") else 0)
    return pairs * len(cfg["seeds"])


# ---------------------------------------------------------------- the jobs of a run's log
_WHEN = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}"
# a job's header (with its time stamp in a real run, none in a dry run) and its indented block
JOB_BLOCK = re.compile(rf"^(?:\[(?P<when>{_WHEN})\]\n)?(?:local)?rule (?P<rule>\w+):\n(?P<body>(?:    .*\n)+)", re.M)
JOB_FINISHED = re.compile(rf"^\[(?P<when>{_WHEN})\]\nFinished jobid: (?P<jobid>\d+) \(Rule: \w+\)", re.M)


def logged_jobs(text: str) -> dict[int, dict]:
    """Snakemake job id -> {rule, input (file list), resources (name -> value, as printed),
    start, end} from the output of a run (start / end: the log's time stamps, whole
    seconds; None in a dry run)."""
    from datetime import datetime

    def when(stamp):
        return datetime.strptime(stamp, "%a %b %d %H:%M:%S %Y") if stamp else None

    jobs = {}
    for m in JOB_BLOCK.finditer(text):
        fields = dict(re.findall(r"^    (\w+): (.*)$", m.group("body"), re.M))
        resources = dict(kv.split("=", 1) for kv in fields.get("resources", "").split(", ") if "=" in kv)
        inputs = [f for f in fields.get("input", "").split(", ") if f]
        jobs[int(fields["jobid"])] = {"rule": m.group("rule"), "input": inputs, "resources": resources,
                                      "start": when(m.group("when")), "end": None}  # fmt: skip
    for m in JOB_FINISHED.finditer(text):
        jobs[int(m.group("jobid"))]["end"] = when(m.group("when"))
    return jobs


def overlapping(jobs: dict[int, dict]) -> list[tuple[int, int]]:
    """Pairs of job ids whose [start, end] intervals overlap (a job that starts in the
    second another ended does not: the log's stamps are whole seconds)."""
    ids = sorted(jobs)
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]
            if jobs[a]["start"] < jobs[b]["end"] and jobs[b]["start"] < jobs[a]["end"]]  # fmt: skip
