"""Helpers of the tests that run Snakemake itself (test_workflow, test_workflow_reliability,
test_slurm): a private copy of the workflow, a Snakemake run, its planned jobs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# what a user's checkout needs to run the workflow (the rules' `conda:` names
# environment.yml, which installs the package from pyproject.toml)
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
