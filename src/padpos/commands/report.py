"""Command of the report stage: ``figures-index`` (writes figures/all)."""

from __future__ import annotations

import argparse

from padpos.commands import Command


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inputs", nargs="+", required=True, help="figures and tables to list")
    p.add_argument("--output", required=True, help="the index file (figures/all)")


def run(args: argparse.Namespace) -> None:
    from padpos.io import write_text
    from padpos.report import figures_index

    write_text(args.output, figures_index(args.inputs))


COMMANDS = {"figures-index": Command(configure, run)}
