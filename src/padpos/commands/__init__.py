"""The command layer: every ``padpos <command>`` and its argparse glue.

Science modules know nothing of argparse; each ``padpos.commands.<stage>`` module
turns command-line arguments into calls of the science library and exposes::

    COMMANDS = {"name": Command(configure, run)}

:data:`REGISTRY` below is the one list of commands: name -> (module, help). The help
text lives only here, so ``padpos --help`` imports neither the stage modules nor
torch. Adding a command: write ``configure(parser)`` and ``run(args)`` in the
stage's module, list it in that module's ``COMMANDS`` and add one line here.
"""

from __future__ import annotations

import argparse
import importlib
import json
from dataclasses import dataclass
from typing import Any, Callable

# name -> (module defining it, help shown by ``padpos --help``)
REGISTRY: dict[str, tuple[str, str]] = {
    "download": ("padpos.commands.data", "download a file and verify its checksum"),
    "prepare-data": (
        "padpos.commands.data",
        "generate or download a study's data set into a checksummed cache",
    ),
    "train": ("padpos.commands.train", "train one backbone (arch x padding x seed), resumable"),
    "ppp": ("padpos.commands.ppp", "PPP metrics and heat maps of one checkpoint (Lin et al. 2023)"),
    "posenet": (
        "padpos.commands.posenet",
        "PosENet readout of one frozen backbone (Islam et al. 2020)",
    ),
    "posenet-alone": (
        "padpos.commands.posenet",
        "PosENet alone on raw RGB with its own padding 0/1/2",
    ),
    "fconv-redgreen": (
        "padpos.commands.fconv",
        "F-Conv Red-Green test: every seed of one conv type (Kayhan & van Gemert 2020)",
    ),
    "fconv-location": (
        "padpos.commands.fconv",
        "F-Conv location test: border sweep of every seed of one padding x init",
    ),
    "reliability-reference": (
        "padpos.commands.reliability",
        "metric reliability: the padding-free control, its dose calibration and CoordConv",
    ),
    "reliability-backbones": (
        "padpos.commands.reliability",
        "metric reliability: PPP, PosENet and location test on one arch's backbones",
    ),
    "table": (
        "padpos.commands.table",
        "one summary table over seeds (mean, std, n, ci95, n_failed) -> .csv/.md/.tex",
    ),
    "plot-training": ("padpos.commands.plots", "held-out accuracy per epoch per padding"),
    "plot-ppp-maps": ("padpos.commands.plots", "PPP heat maps: padding schemes x network depth"),
    "plot-ppp-by-padding": (
        "padpos.commands.plots",
        "PPP SNR and consistency per padding scheme and layer",
    ),
    "plot-ppp-formation": (
        "padpos.commands.plots",
        "PPP metrics versus training epoch per padding scheme",
    ),
    "plot-posenet": ("padpos.commands.plots", "PosENet SPC per padding scheme and target"),
    "plot-posenet-examples": (
        "padpos.commands.plots",
        "PosENet example predictions next to the ground-truth maps",
    ),
    "plot-fconv-redgreen": (
        "padpos.commands.plots",
        "Red-Green accuracy on the similar and dissimilar test sets",
    ),
    "plot-fconv-location": (
        "padpos.commands.plots",
        "location-test accuracy vs extra border per padding and init",
    ),
    "canvas": (
        "padpos.commands.canvas",
        "canvas location test and border distance of one trained run (Islam et al. 2021)",
    ),
    "plot-canvas-location": (
        "padpos.commands.canvas",
        "canvas location test: per-cell heat maps and accuracy per ring",
    ),
    "plot-border-distance": (
        "padpos.commands.canvas",
        "classification accuracy versus the object's distance to the border",
    ),
    "plot-metric-reliability": (
        "padpos.commands.reliability",
        "PPP, PosENet and location test side by side per network, truth marked",
    ),
    "plot-metric-calibration": (
        "padpos.commands.reliability",
        "each reliability metric versus the injected position dose",
    ),
    "figures-index": ("padpos.commands.report", "write figures/all: the list of every figure built"),
    "bench": (
        "padpos.commands.bench",
        "throughput of training (pipeline vs bare loop, every padding scheme), PPP, PosENet",
    ),
}


@dataclass(frozen=True)
class Command:
    """One command: ``configure(parser)`` adds its arguments, ``run(args)`` does the work
    (its return value, if an int, is the exit status)."""

    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], Any]
    # a torch computation (training, probes, bench): the dispatcher tunes the CPU
    # allocator first (runtime.tune_cpu_allocator); tables and figures do not need it
    computes: bool = False


def json_arg(text: str) -> Any:
    """argparse type for a JSON value (the ``--spec`` of every command)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err}): {text[:200]}") from err


def load(name: str) -> Command:
    """The :class:`Command` called ``name`` (imports its stage module); KeyError if unknown."""
    module, _help = REGISTRY[name]
    commands = importlib.import_module(module).COMMANDS
    if name not in commands:
        raise KeyError(f"{module} does not define command {name!r} listed in REGISTRY")
    return commands[name]


__all__ = ["REGISTRY", "Command", "json_arg", "load"]
