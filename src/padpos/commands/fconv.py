"""Commands of the F-Conv stage: ``fconv-redgreen`` (every seed of one conv type) and
``fconv-location`` (the border sweep of every seed of one padding x init)."""

from __future__ import annotations

import argparse
import sys
import time

from padpos.commands import Command, json_arg


def configure_redgreen(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_arg, required=True,
                   help="JSON: variant, seeds, sizes, max_epochs, patience, batch_size, data_seed")  # fmt: skip
    p.add_argument("--output", required=True, help="per-variant CSV (provenance JSON beside it)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch")


def run_redgreen(args: argparse.Namespace) -> None:
    from padpos import runtime
    from padpos.fconv import write_run
    from padpos.fconv.redgreen import run_variant, spec_with_defaults

    t0 = time.time()
    device = runtime.select_device()
    df = run_variant(args.spec, args.threads, device)
    write_run(df, args.output, spec_with_defaults(args.spec), t0, device)
    summary = passed_means(df, "test_set", run=["seed"])
    print(f"red-green {args.spec['variant']}: {summary} in {time.time() - t0:.0f}s", file=sys.stderr)


def configure_location(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_arg, required=True,
                   help="JSON: padding, init, seeds, borders, num_train, num_test, epochs, width, ...")  # fmt: skip
    p.add_argument("--data", required=True, help="data manifest.json of the study")
    p.add_argument("--output", required=True, help="per-run CSV (provenance JSON beside it)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch")


def run_location(args: argparse.Namespace) -> None:
    from padpos import runtime
    from padpos.fconv import write_run
    from padpos.fconv.location import run_location, spec_with_defaults

    t0 = time.time()
    device = runtime.select_device()
    df = run_location(args.spec, args.data, args.threads, device)
    write_run(df, args.output, spec_with_defaults(args.spec), t0, device)
    accs = passed_means(df, "border", run=["seed", "border"])
    print(f"location {args.spec['padding']}/{args.spec['init']}: {accs} in {time.time() - t0:.0f}s",
          file=sys.stderr)  # fmt: skip


def passed_means(df, by: str, run: list[str]) -> str:
    """The log line's summary: mean accuracy per ``by`` over the runs (rows keyed by the
    ``run`` columns) not flagged failed, as the tables average them. (The flag is the
    boolean column the run wrote; padpos.tables is not imported, so that editing table
    code re-runs no F-Conv job.)"""
    failed = df["failed"].astype(bool)
    means = df[~failed].groupby(by)["accuracy"].mean().round(1).to_dict()
    n_runs, n_failed = len(df[run].drop_duplicates()), len(df.loc[failed, run].drop_duplicates())
    return f"{means} ({n_failed} of {n_runs} runs flagged failed, not averaged in)"


COMMANDS = {
    "fconv-redgreen": Command(configure_redgreen, run_redgreen, computes=True),
    "fconv-location": Command(configure_location, run_location, computes=True),
}
