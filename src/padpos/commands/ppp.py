"""Command of the PPP stage: ``ppp`` (metrics and heat maps of one checkpoint)."""

from __future__ import annotations

import argparse

from padpos.commands import Command, json_arg


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="model.pt or snapshot_e{E}.pt")
    p.add_argument("--data", required=True, help="data manifest.json of the study")
    p.add_argument("--spec", required=True, type=json_arg,
                   help='JSON: {"study", "num_images", "bn_images", "batch_size"}')  # fmt: skip
    p.add_argument("--output-csv", required=True, help="per-run CSV (provenance JSON beside it)")
    p.add_argument("--output-npz", required=True, help="heat maps (.npz) for the figures")
    p.add_argument("--threads", type=int, default=1)


def run(args: argparse.Namespace) -> None:
    from padpos.runtime import tune_cpu_allocator

    tune_cpu_allocator()  # keep freed memory: no page faults per step

    import torch

    from padpos.metrics.ppp import check_spec, run_ppp

    torch.set_num_threads(args.threads)
    try:
        spec = check_spec(args.spec)
    except ValueError as err:
        raise SystemExit(str(err)) from err
    run_ppp(args.checkpoint, args.data, spec, args.output_csv, args.output_npz)


COMMANDS = {"ppp": Command(configure, run)}
