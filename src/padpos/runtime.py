"""What every stage needs around its science: the device, seeding and determinism,
float32 precision, BatchNorm re-estimation and provenance.

One home for these, so that training, PPP, PosENet and the F-Conv tests choose
their device, seed and record what they ran with the same way.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn


# ---------------------------------------------------------------- device and numerics
def select_device() -> torch.device:
    """CUDA when present, else the CPU. In a local run the job first claims a GPU slot
    (:func:`claim_gpu_slots`), so that concurrent jobs land on distinct GPUs; under SLURM
    the allocation already restricts the job to its GPUs (CUDA_VISIBLE_DEVICES)."""
    claim_gpu_slots(1)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# ---------------------------------------------------------------- GPU slots of a local run
# Snakemake never tells a local job which GPU to use: `--resources gpu=N` only caps how many
# GPU jobs run at once. Each job therefore claims a slot (an exclusive fcntl lock on a file
# per visible GPU) for its lifetime and narrows CUDA_VISIBLE_DEVICES to it. The kernel drops
# the lock when the process ends, however it ends (exit, crash, SIGKILL).
SLOT_DIR_ENV = "PADPOS_GPU_SLOT_DIR"  # where the lock files live (default: a per-user tmp dir)
HELD_ENV = "PADPOS_GPU_SLOTS"  # the slots a parent claimed for its children (torchrun workers)
_held: dict = {"gpus": None, "files": []}


def visible_gpus(environ=None) -> list[str]:
    """The GPU ids this process may use, read without initialising CUDA: the entries of
    CUDA_VISIBLE_DEVICES when it is set (up to the first invalid one, as CUDA reads it),
    else one per line of ``nvidia-smi -L`` (none without the tool)."""
    environ = os.environ if environ is None else environ
    listed = environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        ids = []
        for gpu in (g.strip() for g in listed.split(",")):
            if not gpu or gpu.startswith("-"):
                break
            ids.append(gpu)
        return ids
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(l for l in out.splitlines() if l.startswith("GPU "))]


def gpu_slot_dir(environ=None) -> Path:
    environ = os.environ if environ is None else environ
    if environ.get(SLOT_DIR_ENV):
        return Path(environ[SLOT_DIR_ENV])
    import tempfile

    return Path(tempfile.gettempdir()) / f"padpos-gpu-slots-{os.getuid()}"


def _try_lock(path: Path):
    """An open file holding an exclusive lock on ``path``, or None when another process holds it."""
    import fcntl

    fh = open(path, "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()} {socket.gethostname()}\n")
    fh.flush()
    return fh


def claim_gpu_slots(n: int = 1, environ=None) -> list[str] | None:
    """Claim ``n`` free GPU slots for this process's lifetime and narrow
    CUDA_VISIBLE_DEVICES to them; returns the claimed GPU ids (also recorded in provenance).

    Nothing is claimed (None) under SLURM (the allocation decides), without visible GPUs,
    after CUDA was initialised (too late to narrow it), or when a parent already claimed
    slots for this process (HELD_ENV: the claimed ids are returned). When fewer than ``n``
    slots are free (more GPU jobs at once than GPUs: ``--resources gpu=N`` larger than the
    number of GPUs), the job shares the GPUs it would have had and says so on stderr."""
    environ = os.environ if environ is None else environ
    if _held["gpus"] is not None:
        return _held["gpus"]
    if environ.get(HELD_ENV):
        return environ[HELD_ENV].split(",")
    if "SLURM_JOB_ID" in environ or torch.cuda.is_initialized():
        return None
    gpus = visible_gpus(environ)
    if not gpus:
        return None
    folder = gpu_slot_dir(environ)
    folder.mkdir(parents=True, exist_ok=True)
    claimed, files = [], []
    for gpu in gpus:
        if len(claimed) == n:
            break
        fh = _try_lock(folder / f"gpu{gpu}.lock")
        if fh is not None:
            claimed.append(gpu)
            files.append(fh)
    if len(claimed) < n:
        shared = [g for g in gpus if g not in claimed][: n - len(claimed)]
        print(
            f"padpos: no free GPU slot for {', '.join(shared)} ({len(gpus)} GPUs visible, all busy): "
            "sharing it; run at most as many GPU jobs at once as there are GPUs (--resources gpu=N)",
            file=sys.stderr,
        )
        claimed += shared
    _held.update(gpus=claimed, files=files)
    environ["CUDA_VISIBLE_DEVICES"] = environ[HELD_ENV] = ",".join(claimed)
    return claimed


def claimed_gpu_slots() -> list[str] | None:
    """The GPU ids this process (or its parent, for it) claimed; None when it claimed none."""
    if _held["gpus"] is not None:
        return _held["gpus"]
    held = os.environ.get(HELD_ENV)
    return held.split(",") if held else None


def device_name(device: torch.device) -> str:
    """``cpu`` or ``cuda (<GPU model>)``, as provenance records it."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def tune_cpu_allocator() -> bool:
    """Let glibc keep freed memory for reuse (process-wide; returns True if applied).
    The dispatcher (cli.main) calls it before every command marked ``computes``.

    By default glibc serves large blocks (activations, gradients) with fresh mmap'd
    pages and returns freed memory to the OS, so every training step page-faults
    its activations in again: measured here, a fifth of a CPU training step was
    kernel time and PPP ran at 60 % of its speed. Raising the mmap and trim
    thresholds keeps the memory in the heap (peak RSS stays allocated). A no-op off
    glibc / Linux or when the user set MALLOC_TRIM_THRESHOLD_ / MALLOC_MMAP_THRESHOLD_."""
    import ctypes

    if not sys.platform.startswith("linux"):
        return False
    if any(k in os.environ for k in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    # 32 MiB is glibc's largest mmap threshold on 64-bit systems
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, 1 << 30))


def seed_everything(seed: int, device: torch.device) -> None:
    """Seed torch; on the CPU also demand deterministic algorithms (bitwise reproducible
    runs, which the resume test relies on); on a GPU prefer speed (cudnn benchmark)."""
    torch.manual_seed(seed)
    if torch.device(device).type == "cpu":
        torch.use_deterministic_algorithms(True)
    else:
        torch.backends.cudnn.benchmark = True  # speed over bitwise reproducibility on GPU


def ieee_float32(device: torch.device) -> None:
    """Turn TF32 off for convs and matmuls on CUDA: its 10-bit mantissa would add a
    rounding difference between two forward passes of ~1e-3, a fake pattern far above
    the float32 floor that the CPU reaches. Nothing to do on the CPU."""
    if torch.device(device).type == "cuda":
        torch.backends.cudnn.conv.fp32_precision = "ieee"
        torch.backends.cuda.matmul.fp32_precision = "ieee"


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, images: torch.Tensor, batch_size: int = 128):
    """Re-estimate every BatchNorm's running statistics on ``images`` (a cumulative
    average over all batches, no gradient) and return the model in eval mode.

    Needed for snapshots whose statistics were never estimated (epoch 0): their
    running mean/var are the initial 0/1, and eval-mode features would be unnormalised.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average = exact mean over batches
    model.train()
    device = next(model.parameters()).device
    for i in range(0, len(images), batch_size):
        model(images[i : i + batch_size].to(device))
    for m, mom in zip(bns, saved):
        m.momentum = mom
    return model.eval()


# ---------------------------------------------------------------- provenance
def versions() -> dict:
    """Versions of the package, Python and the libraries that shape results; ``cuda`` and
    ``cudnn`` are those torch was built with / loads (None on a CPU-only build)."""
    import numpy
    import pandas

    from padpos import __version__

    out = {
        "padpos": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "platform": platform.platform(),
    }
    # read from the installed metadata: importing torchvision (2-3 s, it pulls in
    # torch._dynamo) would cost every job that records provenance more than its work
    from importlib.metadata import PackageNotFoundError, version

    try:
        out["torchvision"] = version("torchvision")
    except PackageNotFoundError:  # pragma: no cover - torchvision is a dependency
        pass
    return out


def provenance(spec: dict, started: float, device: torch.device | str = "cpu", **extra) -> dict:
    """What a job ran with: its spec, ``extra`` facts of the stage, device, threads,
    host, SLURM job, the code (git commit, dirty flag, source hash), versions, the hash
    of the installed package list (the study's environment.txt), wall and CPU time
    since ``started`` (a ``time.time()``)."""
    from padpos.software import code_version, packages_sha256

    return {
        "spec": spec,
        **extra,
        "device": device_name(torch.device(device)),
        "threads": torch.get_num_threads(),
        "host": socket.gethostname(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        # the GPU slots a local job claimed (claim_gpu_slots); None under SLURM or without GPUs
        "gpu_slots": claimed_gpu_slots(),
        "code": code_version(),
        "versions": versions(),
        "packages_sha256": packages_sha256(),
        "wall_time_s": round(time.time() - started, 2),
        # CPU seconds of this process (imports included): the cost on a shared machine
        "cpu_time_s": round(time.process_time(), 2),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def provenance_path(result: str | Path) -> Path:
    """Where the provenance of a result file lives: ``<result>.provenance.json`` beside it
    (``ppp.csv`` -> ``ppp.provenance.json``)."""
    return Path(result).with_suffix(".provenance.json")


def write_provenance(path: str | Path, prov: dict) -> None:
    """Write ``prov`` atomically as JSON at ``path``."""
    from padpos.io import write_json

    write_json(path, prov)


def write_result(df, output: str | Path, spec: dict, started: float, device="cpu", **facts) -> None:
    """Write one job's per-run CSV ``output`` and its provenance beside it
    (``<output>.provenance.json``, with the number of rows and ``facts``)."""
    from padpos.io import write_csv

    write_csv(output, df)
    write_provenance(provenance_path(output), provenance(spec, started, device, rows=len(df), **facts))
