"""Commands of the PosENet stage: ``posenet`` (readout of a frozen backbone) and
``posenet-alone`` (the readout on raw RGB)."""

from __future__ import annotations

import argparse

from padpos.commands import Command, json_arg


def configure_backbone(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_arg, required=True, help="JSON: study, arch, padding, seed + posenet settings")
    p.add_argument("--checkpoint", required=True, help="the trained backbone's model.pt")
    _configure_outputs(p)


def configure_alone(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_arg, required=True, help="JSON: study, readout_padding, seed + posenet settings")
    _configure_outputs(p)


def _configure_outputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="the data manifest.json")
    p.add_argument("--output", required=True, help="per-run CSV (long format)")
    p.add_argument("--predictions", required=True, help="example predictions (.npz) for figures")
    p.add_argument("--provenance", required=True, help="provenance JSON")
    p.add_argument("--threads", type=int, default=1)


def _outputs(args: argparse.Namespace) -> dict:
    return {"output": args.output, "predictions": args.predictions, "provenance": args.provenance}


def run_backbone(args: argparse.Namespace) -> None:
    import torch

    from padpos.metrics.posenet import run_backbone_readout

    torch.set_num_threads(args.threads)
    run_backbone_readout(args.spec, args.checkpoint, args.data, _outputs(args))


def run_alone(args: argparse.Namespace) -> None:
    import torch

    from padpos.metrics.posenet import run_alone_readout

    torch.set_num_threads(args.threads)
    run_alone_readout(args.spec, args.data, _outputs(args))


COMMANDS = {
    "posenet": Command(configure_backbone, run_backbone, computes=True),
    "posenet-alone": Command(configure_alone, run_alone, computes=True),
}
