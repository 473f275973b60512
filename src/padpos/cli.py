"""Command-line interface: ``padpos <command> ...`` or ``python -m padpos <command> ...``.

Every Snakemake rule calls exactly one of these commands. This module only
dispatches: the commands, their help and their argparse glue live in
:mod:`padpos.commands` (the registry in ``commands/__init__.py``, one module per
stage). A command's module is imported only when that command runs, so that
``padpos --help`` imports no torch and a broken optional stage cannot break the others.
"""

from __future__ import annotations

import argparse
import sys

from padpos.commands import REGISTRY, load


def build_parser() -> argparse.ArgumentParser:
    from padpos import __version__

    parser = argparse.ArgumentParser(
        prog="padpos",
        description="Position information from CNN padding: the library behind the Snakemake workflow.",
    )
    parser.add_argument("--version", action="version", version=f"padpos {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in REGISTRY.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not argv or argv[0].startswith("-"):
        parser.parse_args(argv or ["--help"])
        return 0
    name = argv[0]
    if name not in REGISTRY:
        parser.error(f"unknown command {name!r}; run 'padpos --help' for the list")
    command = load(name)
    sub = argparse.ArgumentParser(prog=f"padpos {name}", description=REGISTRY[name][1])
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
