"""Command-line interface: ``padpos <command> ...`` or ``python -m padpos <command> ...``.

Every Snakemake rule calls exactly one of these commands. Each command lives in
the module that owns its concept; that module exposes a ``CLI`` dict::

    CLI = {"train": Command(configure=add_args, run=run_from_args, help="...")}

and is listed in :data:`COMMAND_MODULES`. Modules are imported lazily so that
``padpos --help`` stays fast and a broken optional stage cannot break the others.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable

# module -> the commands it provides (names listed here so --help needs no imports)
COMMAND_MODULES: dict[str, dict[str, str]] = {
    "padpos.data": {
        "prepare-data": "generate or download a study's data set into a checksummed cache",
        "download": "download a file and verify its checksum",
    },
    "padpos.train": {"train": "train one backbone (arch x padding x seed), resumable"},
    "padpos.tables": {"table-training": "final held-out accuracy per arch x padding over seeds"},
    "padpos.metrics.ppp": {
        "ppp": "PPP metrics and heat maps of one checkpoint (Lin et al. 2023)",
        "table-ppp": "PPP metrics per padding x layer (x epoch) over seeds",
    },
    "padpos.plots.ppp": {
        "plot-ppp-maps": "PPP heat maps: padding schemes x network depth",
        "plot-ppp-by-padding": "PPP SNR and consistency per padding scheme and layer",
        "plot-ppp-formation": "PPP metrics versus training epoch per padding scheme",
    },
    "padpos.metrics.posenet": {
        "posenet": "PosENet readout of one frozen backbone (Islam et al. 2020)",
        "posenet-alone": "PosENet alone on raw RGB with its own padding 0/1/2",
        "table-posenet": "PosENet SPC / MAE per padding x target x input over seeds",
    },
    "padpos.plots.posenet": {
        "plot-posenet": "PosENet SPC per padding scheme and target",
        "plot-posenet-examples": "PosENet example predictions next to the ground-truth maps",
    },
    "padpos.fconv": {
        "fconv-redgreen": "F-Conv Red-Green test: every seed of one conv type (Kayhan & van Gemert 2020)",
        "fconv-location": "F-Conv location test: border sweep of one padding x init x seed",
        "table-fconv-redgreen": "Red-Green accuracy per conv type x test set over seeds",
        "table-fconv-location": "location-test accuracy per padding x init x border over seeds",
    },
    "padpos.plots.fconv": {
        "plot-fconv-redgreen": "Red-Green accuracy on the similar and dissimilar test sets",
        "plot-fconv-location": "location-test accuracy vs extra border per padding and init",
    },
    "padpos.plots.training": {"plot-training": "held-out accuracy per epoch per padding"},
    "padpos.report": {"figures-index": "write figures/all: the list of every figure built"},
    "padpos.bench": {"bench": "throughput of training / PPP / PosENet on this device"},
}


# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def tune_cpu_allocator() -> bool:
    """Let glibc keep freed memory for reuse (process-wide; returns True if applied).

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


@dataclass(frozen=True)
class Command:
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], Any]
    help: str = ""


def json_arg(text: str) -> Any:
    """argparse type for a JSON value (used for ``--spec`` of every command)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err}): {text[:200]}") from err


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="padpos",
        description="Position information from CNN padding: the library behind the Snakemake workflow.",
    )
    from padpos import __version__

    parser.add_argument("--version", action="version", version=f"padpos {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module, commands in COMMAND_MODULES.items():
        for name, help_text in commands.items():
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _command(name: str) -> Command:
    for module, commands in COMMAND_MODULES.items():
        if name in commands:
            return importlib.import_module(module).CLI[name]
    raise KeyError(name)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0].startswith("-"):
        parser.parse_args(argv or ["--help"])
        return 0
    name = argv[0]
    try:
        command = _command(name)
    except KeyError:
        parser.error(f"unknown command {name!r}; run 'padpos --help' for the list")
    sub = argparse.ArgumentParser(prog=f"padpos {name}", description=command.help)
    command.configure(sub)
    args = sub.parse_args(argv[1:])
    tune_cpu_allocator()  # every command's process: reuse freed memory (see its docstring)
    result = command.run(args)
    return int(result) if isinstance(result, int) else 0
