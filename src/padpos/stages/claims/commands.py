"""Commands of the claims stage: ``claims`` (the scorecard table) and ``plot-claims``."""

from __future__ import annotations

import argparse

from padpos.cli import add_figure_arguments, json_arg


def configure_scheme_equivalence(p: argparse.ArgumentParser) -> None:
    p.add_argument("--archs", nargs="+", required=True, help="architectures (the study's archs)")
    p.add_argument("--schemes", nargs="+", required=True, help="same-size padding schemes, in the study's order")
    p.add_argument("--image-size", type=int, required=True, help="input size in pixels (the study's images)")
    p.add_argument("--width", type=int, required=True, help="the small nets' width (train.width)")
    p.add_argument("--output", required=True, help="scheme_equivalence.csv (.md and .tex written beside it)")


def run_scheme_equivalence(args: argparse.Namespace) -> None:
    import sys

    from padpos.io import write_table
    from padpos.stages.claims.equivalence import equivalence_table

    table = equivalence_table(args.archs, args.schemes, args.image_size, args.width)
    write_table(table, args.output)
    merged = table[table["scheme"] != table["same_as"]]
    print("scheme-equivalence: " + ("; ".join(f"{r.arch}: {r.scheme} = {r.same_as}" for r in merged.itertuples())
                                    or "every scheme computes its own function"), file=sys.stderr)  # fmt: skip


def configure_claims(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tables", nargs="+", required=True,
                   help="the study's summary tables (results/<study>/tables/<name>.csv); the name is the file's stem")  # fmt: skip
    p.add_argument("--runs", nargs="*", default=[], metavar="TABLE:PATH",
                   help="the per-run files behind the tables, each as TABLE:PATH (paired statistics, binomial noise)")  # fmt: skip
    p.add_argument("--spec", type=json_arg, default={},
                   help='JSON: {"arch": main arch, "padding_free_arch": ..., "canvas_grid": k}')  # fmt: skip
    p.add_argument("--output", required=True, help="claims.csv (.md and .tex written beside it)")


def run_claims(args: argparse.Namespace) -> None:
    import sys

    from padpos.io import write_table
    from padpos.stages.claims.build import build_scorecard, parse_runs

    card = build_scorecard(args.tables, args.spec, parse_runs(args.runs))
    write_table(card, args.output)
    counts = card["verdict"].value_counts().to_dict()
    print(f"claims: {len(card)} claims, " + ", ".join(f"{v} {k}" for k, v in counts.items()), file=sys.stderr)


def configure_claims_rules(p: argparse.ArgumentParser) -> None:
    p.add_argument("--update", metavar="FILE",
                   help="rewrite the generated block of FILE (docs/protocols.md) instead of printing the table")  # fmt: skip


def run_claims_rules(args: argparse.Namespace) -> None:
    from pathlib import Path

    from padpos.io import write_text
    from padpos.stages.claims.definitions import CLAIMS
    from padpos.stages.claims.scorecard import replace_rules_block, rules_markdown

    table = rules_markdown(CLAIMS)
    if args.update:
        write_text(args.update, replace_rules_block(Path(args.update).read_text(), table))
    else:
        print(table, end="")


def configure_plot_claims(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--table", "claims.csv", many=False)


def run_plot_claims(args: argparse.Namespace) -> None:
    import pandas as pd

    from padpos.io import save_figure
    from padpos.stages.claims.figures import plot_claims

    save_figure(plot_claims(pd.read_csv(args.table), args.title), args.output)
