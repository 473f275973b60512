"""Commands of the report stage: ``padpos table NAME --runs F... --output X.csv`` (every
table: NAME is declared by a stage's manifest and built by its ``table_<NAME>``),
``figures-index`` (writes figures/all) and ``environment`` (the study's package list)."""

from __future__ import annotations

import argparse


def configure_table(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="table name (declared by a stage's manifest, e.g. training, ppp)")
    p.add_argument("--runs", nargs="+", required=True, help="per-run result CSV files")
    p.add_argument("--output", required=True, help="CSV path (.md and .tex written beside it)")
    p.add_argument(
        "--include-failed",
        action="store_true",
        help="average runs flagged failed in too (default: excluded, counted in n_failed)",
    )


def run_table(args: argparse.Namespace) -> None:
    from padpos.io import read_runs, write_table
    from padpos.stages import build_table

    runs = read_runs(args.runs)
    write_table(build_table(args.name, runs, exclude_failed=not args.include_failed), args.output)


def configure_figures_index(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inputs", nargs="+", required=True, help="figures and tables to list")
    p.add_argument("--output", required=True, help="the index file (figures/all)")


def run_figures_index(args: argparse.Namespace) -> None:
    from padpos.io import write_text
    from padpos.stages.report.index import figures_index

    write_text(args.output, figures_index(args.inputs))


def configure_environment(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", required=True, help="the package list (results/<study>/environment.txt)")


def run_environment(args: argparse.Namespace) -> None:
    from padpos.io import write_text
    from padpos.software import packages_text

    write_text(args.output, packages_text())
