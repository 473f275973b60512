"""Commands of the PPP stage: ``ppp`` (metrics and heat maps of the checkpoints of one
run) and its three figures."""

from __future__ import annotations

import argparse

from padpos.cli import add_figure_arguments, json_arg


def configure_ppp(p: argparse.ArgumentParser) -> None:
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


def run_ppp(args: argparse.Namespace) -> None:
    import torch

    from padpos.probes.pattern import check_spec, run_ppp_checkpoints

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


def configure_plot_ppp_maps(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--maps", "per-run PPP .npz files")


def configure_plot_ppp_by_padding(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--table", "the PPP table (.csv)", many=False)


def configure_plot_ppp_formation(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--table", "the PPP formation table (.csv)", many=False)


def run_plot_ppp_maps(args: argparse.Namespace) -> None:
    from padpos.io import save_figure
    from padpos.stages.ppp.figures import plot_maps, read_maps

    save_figure(plot_maps(read_maps(args.maps), args.title), args.output)


def run_plot_ppp_by_padding(args: argparse.Namespace) -> None:
    import pandas as pd

    from padpos.io import save_figure
    from padpos.stages.ppp.figures import plot_by_padding

    save_figure(plot_by_padding(pd.read_csv(args.table), args.title), args.output)


def run_plot_ppp_formation(args: argparse.Namespace) -> None:
    import pandas as pd

    from padpos.io import save_figure
    from padpos.stages.ppp.figures import plot_formation

    save_figure(plot_formation(pd.read_csv(args.table), args.title), args.output)
