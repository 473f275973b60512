"""Commands that draw figures: ``plot-*`` (one figure file each)."""

from __future__ import annotations

import argparse

from padpos.commands import Command, json_arg


def _configure_title_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--title", default="", help="what the study is (shown in the title)")
    p.add_argument("--output", required=True, help="figure path (.png or .pdf)")


# ---------------------------------------------------------------- training
def configure_training(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics", nargs="+", required=True, help="per-run metrics.csv files")
    _configure_title_output(p)


def run_training(args: argparse.Namespace) -> None:
    from padpos.plots.style import save_figure
    from padpos.plots.training import plot_training
    from padpos.tables import read_runs

    save_figure(plot_training(read_runs(args.metrics), args.title), args.output)


# ---------------------------------------------------------------- PPP
def configure_ppp_maps(p: argparse.ArgumentParser) -> None:
    p.add_argument("--maps", nargs="+", required=True, help="per-run PPP .npz files")
    _configure_title_output(p)


def configure_ppp_table(p: argparse.ArgumentParser) -> None:
    p.add_argument("--table", required=True, help="the PPP table (.csv)")
    _configure_title_output(p)


def run_ppp_maps(args: argparse.Namespace) -> None:
    from padpos.plots.ppp import plot_maps, read_maps
    from padpos.plots.style import save_figure

    save_figure(plot_maps(read_maps(args.maps), args.title), args.output)


def run_ppp_by_padding(args: argparse.Namespace) -> None:
    import pandas as pd

    from padpos.plots.ppp import plot_by_padding
    from padpos.plots.style import save_figure

    save_figure(plot_by_padding(pd.read_csv(args.table), args.title), args.output)


def run_ppp_formation(args: argparse.Namespace) -> None:
    import pandas as pd

    from padpos.plots.ppp import plot_formation
    from padpos.plots.style import save_figure

    save_figure(plot_formation(pd.read_csv(args.table), args.title), args.output)


# ---------------------------------------------------------------- PosENet
def configure_posenet(p: argparse.ArgumentParser) -> None:
    p.add_argument("--table", required=True, help="the posenet or posenet_alone table (.csv)")
    _configure_title_output(p)


def run_posenet(args: argparse.Namespace) -> None:
    import pandas as pd

    from padpos.plots.posenet import plot_spc
    from padpos.plots.style import save_figure

    table = pd.read_csv(args.table)
    scheme_col = "readout_padding" if "readout_padding" in table.columns else "padding"
    save_figure(plot_spc(table, args.title, scheme_col), args.output)


def configure_posenet_examples(p: argparse.ArgumentParser) -> None:
    p.add_argument("--predictions", nargs="+", required=True, help="per-run predictions.npz files (one row each)")
    _configure_title_output(p)


def run_posenet_examples(args: argparse.Namespace) -> None:
    from padpos.plots.posenet import load_examples, plot_examples
    from padpos.plots.style import save_figure

    save_figure(plot_examples([load_examples(p) for p in args.predictions], args.title), args.output)


# ---------------------------------------------------------------- F-Conv
def configure_fconv(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", nargs="+", required=True, help="per-run CSV files")
    p.add_argument("--spec", type=json_arg, default={}, help="JSON: the study's settings (for the title)")
    p.add_argument("--output", required=True, help="figure path (.png or .pdf)")


def run_fconv_redgreen(args: argparse.Namespace) -> None:
    from padpos.fconv.redgreen import describe_scale
    from padpos.plots.fconv import plot_redgreen
    from padpos.plots.style import save_figure
    from padpos.tables import read_runs

    save_figure(plot_redgreen(read_runs(args.runs), describe_scale(args.spec)), args.output)


def run_fconv_location(args: argparse.Namespace) -> None:
    from padpos.fconv.location import describe_scale
    from padpos.plots.fconv import plot_location
    from padpos.plots.style import save_figure
    from padpos.tables import read_runs

    save_figure(plot_location(read_runs(args.runs), describe_scale(args.spec)), args.output)


COMMANDS = {
    "plot-training": Command(configure_training, run_training),
    "plot-ppp-maps": Command(configure_ppp_maps, run_ppp_maps),
    "plot-ppp-by-padding": Command(configure_ppp_table, run_ppp_by_padding),
    "plot-ppp-formation": Command(configure_ppp_table, run_ppp_formation),
    "plot-posenet": Command(configure_posenet, run_posenet),
    "plot-posenet-examples": Command(configure_posenet_examples, run_posenet_examples),
    "plot-fconv-redgreen": Command(configure_fconv, run_fconv_redgreen),
    "plot-fconv-location": Command(configure_fconv, run_fconv_location),
}
