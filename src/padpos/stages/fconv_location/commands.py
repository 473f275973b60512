"""Commands of the location-test stage: ``fconv-location`` (the border sweep of every
seed of one padding x init) and its figure."""

from __future__ import annotations

import argparse
import sys
import time

from padpos.cli import add_figure_arguments, json_arg


def configure_fconv_location(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_arg, required=True,
                   help="JSON: padding, init, seeds, borders, num_train, num_test, epochs, width, ...")  # fmt: skip
    p.add_argument("--data", required=True, help="data manifest.json of the study")
    p.add_argument("--output", required=True, help="per-run CSV (provenance JSON beside it)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch")


def run_fconv_location(args: argparse.Namespace) -> None:
    from padpos import runtime
    from padpos.stages.fconv_location.location import run_location, spec_with_defaults
    from padpos.stats import passed_means

    t0 = time.time()
    device = runtime.select_device()
    df = run_location(args.spec, args.data, args.threads, device)
    runtime.write_result(df, args.output, spec_with_defaults(args.spec), t0, device)
    accs = passed_means(df, "border", run=["seed", "border"])
    print(f"location {args.spec['padding']}/{args.spec['init']}: {accs} in {time.time() - t0:.0f}s",
          file=sys.stderr)  # fmt: skip


def configure_plot_fconv_location(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--runs", "per-run CSV files", spec=True)


def run_plot_fconv_location(args: argparse.Namespace) -> None:
    from padpos.io import read_runs, save_figure
    from padpos.stages.fconv_location.figures import plot_location
    from padpos.stages.fconv_location.location import describe_scale

    save_figure(plot_location(read_runs(args.runs), describe_scale(args.spec)), args.output)
