"""F-Conv tests of Kayhan & van Gemert 2020 (PROTOCOLS.md section 4).

- :mod:`padpos.fconv.redgreen`: the Red-Green test (4a): two coloured boxes whose
  left-right order is the class; the dissimilar test set moves them to where the
  other class trained. V-Conv, every S-Conv scheme, F-Conv, and the official
  code's pad-2 circular variant.
- :mod:`padpos.fconv.location`: the location (quadrant) test (4b): an image at the
  top-left or bottom-right of a black canvas; accuracy vs an extra border B.

Commands (one job each): ``fconv-redgreen`` (every seed of one variant),
``fconv-location`` (the border sweep of one padding x init x seed) and the
tables ``table-fconv-redgreen`` / ``table-fconv-location``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

from padpos.cli import Command, json_arg
from padpos.io import write_csv, write_json


def provenance(spec: dict, wall_time_s: float, threads: int, **extra) -> dict:
    """What a job ran with: spec, versions, machine, wall time."""
    import numpy
    import torch

    from padpos import __version__

    return {
        "spec": spec,
        "wall_time_s": round(wall_time_s, 2),
        # CPU seconds of this process (imports included): the cost on a shared machine
        "cpu_time_s": round(time.process_time(), 2),
        "threads": threads,
        "device": "cpu",
        "host": platform.node(),
        "versions": {
            "padpos": __version__,
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "platform": platform.platform(),
        },
        **extra,
    }


def _device_name(device) -> str:
    import torch

    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return str(device)


def _write_run(df, output: str, spec: dict, t0: float, threads: int) -> None:
    from padpos.train import select_device

    write_csv(output, df)
    # the device run_variant / run_location chose (they select it the same way)
    device = _device_name(select_device())
    prov = provenance(spec, time.time() - t0, threads, rows=len(df), device=device)
    write_json(Path(output).with_suffix(".provenance.json"), prov)


# ---------------------------------------------------------------- commands
def _configure_redgreen(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_arg, required=True,
                   help="JSON: variant, seeds, sizes, max_epochs, patience, batch_size, data_seed")  # fmt: skip
    p.add_argument("--output", required=True, help="per-variant CSV (provenance JSON beside it)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch")


def _run_redgreen(args: argparse.Namespace) -> None:
    from padpos.fconv.redgreen import run_variant, spec_with_defaults

    t0 = time.time()
    df = run_variant(args.spec, args.threads)
    _write_run(df, args.output, spec_with_defaults(args.spec), t0, args.threads)
    summary = df.groupby("test_set")["accuracy"].mean().round(1).to_dict()
    print(f"red-green {args.spec['variant']}: {summary} in {time.time() - t0:.0f}s", file=sys.stderr)


def _configure_location(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_arg, required=True,
                   help="JSON: padding, init, seed, borders, num_train, num_test, epochs, width, ...")  # fmt: skip
    p.add_argument("--data", required=True, help="data manifest.json of the study")
    p.add_argument("--output", required=True, help="per-run CSV (provenance JSON beside it)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch")


def _run_location(args: argparse.Namespace) -> None:
    from padpos.fconv.location import run_location, spec_with_defaults

    t0 = time.time()
    df = run_location(args.spec, args.data, args.threads)
    _write_run(df, args.output, spec_with_defaults(args.spec), t0, args.threads)
    accs = dict(zip(df["border"], df["accuracy"].round(1)))
    print(f"location {args.spec['padding']}/{args.spec['init']}: {accs} in {time.time() - t0:.0f}s",
          file=sys.stderr)  # fmt: skip


def _configure_table(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", nargs="+", required=True, help="per-run CSV files")
    p.add_argument("--output", required=True, help="CSV path (.md and .tex written beside it)")


def _run_table_redgreen(args: argparse.Namespace) -> None:
    from padpos.fconv.redgreen import redgreen_table
    from padpos.tables import read_runs, write_table

    write_table(redgreen_table(read_runs(args.runs)), args.output)


def _run_table_location(args: argparse.Namespace) -> None:
    from padpos.fconv.location import location_table
    from padpos.tables import read_runs, write_table

    write_table(location_table(read_runs(args.runs)), args.output)


CLI = {
    "fconv-redgreen": Command(_configure_redgreen, _run_redgreen, "Red-Green test: all seeds of one variant"),
    "fconv-location": Command(_configure_location, _run_location, "location test: border sweep of one run"),
    "table-fconv-redgreen": Command(_configure_table, _run_table_redgreen, "Red-Green accuracy table"),
    "table-fconv-location": Command(_configure_table, _run_table_location, "location test accuracy table"),
}

__all__ = ["CLI", "provenance"]
