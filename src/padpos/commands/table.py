"""Command of the tables stage: ``padpos table NAME --runs F... --output X.csv``.

One command for every table: NAME is a builder registered with
:func:`padpos.tables.register_table` in its stage's module; the per-run CSVs are
concatenated, summarised and written as X.csv, X.md and X.tex.
"""

from __future__ import annotations

import argparse

from padpos.commands import Command


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="table name (a registered table builder, e.g. training, ppp)")
    p.add_argument("--runs", nargs="+", required=True, help="per-run result CSV files")
    p.add_argument("--output", required=True, help="CSV path (.md and .tex written beside it)")
    p.add_argument(
        "--include-failed",
        action="store_true",
        help="average runs flagged failed in too (default: excluded, counted in n_failed)",
    )


def run(args: argparse.Namespace) -> None:
    from padpos.tables import build_table, read_runs, write_table

    runs = read_runs(args.runs)
    write_table(build_table(args.name, runs, exclude_failed=not args.include_failed), args.output)


COMMANDS = {"table": Command(configure, run)}
