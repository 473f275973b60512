"""Commands of the Red-Green stage: ``fconv-redgreen`` (every seed of one conv type)
and its figure."""

from __future__ import annotations

import argparse
import sys
import time

from padpos.cli import add_figure_arguments, json_arg


def configure_fconv_redgreen(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_arg, required=True,
                   help="JSON: variant, seeds, sizes, max_epochs, patience, batch_size, data_seed")  # fmt: skip
    p.add_argument("--output", required=True, help="per-variant CSV (provenance JSON beside it)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch")


def run_fconv_redgreen(args: argparse.Namespace) -> None:
    from padpos import runtime
    from padpos.stages.fconv_redgreen.redgreen import run_variant, spec_with_defaults
    from padpos.stats import passed_means

    t0 = time.time()
    device = runtime.select_device()
    df = run_variant(args.spec, args.threads, device)
    runtime.write_result(df, args.output, spec_with_defaults(args.spec), t0, device)
    summary = passed_means(df, "test_set", run=["seed"])
    print(f"red-green {args.spec['variant']}: {summary} in {time.time() - t0:.0f}s", file=sys.stderr)


def configure_plot_fconv_redgreen(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--runs", "per-run CSV files", spec=True)


def run_plot_fconv_redgreen(args: argparse.Namespace) -> None:
    from padpos.io import read_runs, save_figure
    from padpos.stages.fconv_redgreen.figures import plot_redgreen
    from padpos.stages.fconv_redgreen.redgreen import describe_scale

    save_figure(plot_redgreen(read_runs(args.runs), describe_scale(args.spec)), args.output)
