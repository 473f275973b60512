"""Command of the PPP stage: ``ppp`` (metrics and heat maps of the checkpoints of one run)."""

from __future__ import annotations

import argparse

from padpos.commands import Command, json_arg


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, nargs="+",
                   help="model.pt / snapshot_e{E}.pt: one or more checkpoints of one run")  # fmt: skip
    p.add_argument("--data", required=True, help="data manifest.json of the study")
    p.add_argument("--spec", required=True, type=json_arg,
                   help='JSON: {"study", "num_images", "bn_images", "batch_size"}')  # fmt: skip
    p.add_argument("--output-csv", required=True, nargs="+",
                   help="per-checkpoint CSV, one per --checkpoint (provenance JSON beside it)")  # fmt: skip
    p.add_argument("--output-npz", required=True, nargs="+",
                   help="heat maps (.npz) for the figures, one per --checkpoint")  # fmt: skip
    p.add_argument("--threads", type=int, default=1)


def run(args: argparse.Namespace) -> None:
    import torch

    from padpos.metrics.ppp import check_spec, run_ppp_checkpoints

    torch.set_num_threads(args.threads)
    try:
        spec = check_spec(args.spec)
        if not len(args.checkpoint) == len(args.output_csv) == len(args.output_npz):
            raise ValueError(
                f"ppp: {len(args.checkpoint)} --checkpoint need as many --output-csv and "
                f"--output-npz, got {len(args.output_csv)} and {len(args.output_npz)}"
            )
    except ValueError as err:
        raise SystemExit(str(err)) from err
    run_ppp_checkpoints(args.checkpoint, args.data, spec, args.output_csv, args.output_npz)


COMMANDS = {"ppp": Command(configure, run, computes=True)}
