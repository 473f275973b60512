"""Commands of the PosENet stage: ``posenet`` (readout of a frozen backbone),
``posenet-alone`` (the readout on raw RGB) and the two figures."""

from __future__ import annotations

import argparse

from padpos.cli import add_figure_arguments, json_arg


def configure_posenet(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_arg, required=True, help="JSON: study, arch, padding, seed + posenet settings")
    p.add_argument("--checkpoint", required=True, help="the trained backbone's model.pt")
    _configure_outputs(p)


def configure_posenet_alone(p: argparse.ArgumentParser) -> None:
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


def run_posenet(args: argparse.Namespace) -> None:
    import torch

    from padpos.probes.readout import run_backbone_readout

    torch.set_num_threads(args.threads)
    run_backbone_readout(args.spec, args.checkpoint, args.data, _outputs(args))


def run_posenet_alone(args: argparse.Namespace) -> None:
    import torch

    from padpos.probes.readout import run_alone_readout

    torch.set_num_threads(args.threads)
    run_alone_readout(args.spec, args.data, _outputs(args))


def configure_plot_posenet(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--table", "the posenet or posenet_alone table (.csv)", many=False)


def run_plot_posenet(args: argparse.Namespace) -> None:
    import pandas as pd

    from padpos.io import save_figure
    from padpos.stages.posenet.figures import plot_spc

    table = pd.read_csv(args.table)
    scheme_col = "readout_padding" if "readout_padding" in table.columns else "padding"
    save_figure(plot_spc(table, args.title, scheme_col), args.output)


def configure_plot_posenet_examples(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--predictions", "per-run predictions.npz files (one row each)")


def run_plot_posenet_examples(args: argparse.Namespace) -> None:
    from padpos.io import save_figure
    from padpos.stages.posenet.figures import load_examples, plot_examples

    save_figure(plot_examples([load_examples(p) for p in args.predictions], args.title), args.output)
