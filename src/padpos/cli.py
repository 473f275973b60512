"""Command-line interface: ``padpos <command> ...`` or ``python -m padpos <command> ...``.

Every Snakemake rule calls exactly one of these commands. This module only
dispatches: the commands are declared by the stages' manifests
(:func:`padpos.stages.command_registry`), their argparse glue lives in each stage's
``commands.py``. A command's module is imported only when that command runs, so
that ``padpos --help`` imports no torch and a broken optional stage cannot break
the others.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from dataclasses import dataclass
from typing import Any, Callable

from padpos.stages import command_registry, command_stage, commands_module


def json_arg(text: str) -> Any:
    """argparse type for a JSON value (the ``--spec`` of every command)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"not valid JSON ({err}): {text[:200]}") from err


def add_figure_arguments(
    p: argparse.ArgumentParser, source: str, source_help: str, many: bool = True, spec: bool = False
) -> None:
    """The arguments of a figure command: its input (``source``, e.g. ``--runs``: a list of
    files when ``many``), ``--title`` (or, with ``spec``, the study's settings as JSON for the
    title) and ``--output`` (one or more paths)."""
    p.add_argument(source, nargs="+" if many else None, required=True, help=source_help)
    if spec:
        p.add_argument("--spec", type=json_arg, default={}, help="JSON: the study's settings (for the title)")
    else:
        p.add_argument("--title", default="", help="what the study is (shown in the title)")
    p.add_argument(
        "--output", nargs="+", required=True, help="figure path(s), e.g. X.png X.pdf: drawn once, saved to each"
    )


@dataclass(frozen=True)
class Loaded:
    """A command ready to run: its two functions and whether it computes."""

    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], Any]
    computes: bool = False


def load(name: str) -> Loaded:
    """The functions of command ``name`` (imports its stage's ``commands.py``); KeyError
    if the command is unknown or its stage lacks one of its two functions."""
    command = command_registry().get(name)
    if command is None:
        raise KeyError(f"unknown command {name!r}; known: {', '.join(sorted(command_registry()))}")
    module = importlib.import_module(commands_module(command_stage(name)))
    missing = [f for f in (command.configure, command.run) if not hasattr(module, f)]
    if missing:
        raise KeyError(f"{module.__name__} lacks {', '.join(missing)} for command {name!r}")
    return Loaded(getattr(module, command.configure), getattr(module, command.run), command.computes)


def build_parser() -> argparse.ArgumentParser:
    from padpos import __version__

    parser = argparse.ArgumentParser(
        prog="padpos",
        description="Position information from CNN padding: the library behind the Snakemake workflow.",
    )
    parser.add_argument("--version", action="version", version=f"padpos {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in command_registry().items():
        sub.add_parser(name, help=command.help, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from padpos.progress import batch_friendly_progress

    batch_friendly_progress()  # before any command imports tqdm: small logs in batch jobs
    parser = build_parser()
    if not argv or argv[0].startswith("-"):
        parser.parse_args(argv or ["--help"])
        return 0
    name = argv[0]
    if name not in command_registry():
        parser.error(f"unknown command {name!r}; run 'padpos --help' for the list")
    command = load(name)
    sub = argparse.ArgumentParser(prog=f"padpos {name}", description=command_registry()[name].help)
    command.configure(sub)
    args = sub.parse_args(argv[1:])
    from padpos.io import ReportedError

    if command.computes:
        from padpos.runtime import tune_cpu_allocator

        tune_cpu_allocator()  # keep freed memory: no page faults per training / probe step
    try:
        result = command.run(args)
    except ReportedError as err:  # the message says it all (file or run, what to do)
        print(f"padpos {name}: error: {err}", file=sys.stderr)
        return 1
    return int(result) if isinstance(result, int) else 0
