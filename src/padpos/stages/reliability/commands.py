"""Commands of the metric-reliability stage: ``reliability-reference`` (the padding-free
control, its dose-response calibration and the CoordConv net: one job),
``reliability-backbones`` (the study's backbones of one arch at initialisation and
trained: one job), ``reliability-behaviour`` (one regime's box nets, trained and
measured: one job; docs/protocols.md section 6c), and the two figures."""

from __future__ import annotations

import argparse

from padpos.cli import add_figure_arguments, json_arg


def _configure_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", required=True, type=json_arg,
                   help="JSON: the study's reliability settings + 'study' + 'posenet' (readout settings)")  # fmt: skip
    p.add_argument("--data", required=True, help="data manifest.json of the study (image size, mean / std)")
    p.add_argument("--output", required=True, help="per-run CSV (provenance JSON beside it)")
    p.add_argument("--threads", type=int, default=1)


def configure_reliability_reference(p: argparse.ArgumentParser) -> None:
    _configure_common(p)


def configure_reliability_backbones(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoints", nargs="+", required=True,
                   help="snapshot_e0.pt (initialisation) and model.pt (trained) files")  # fmt: skip
    _configure_common(p)


def configure_reliability_behaviour(p: argparse.ArgumentParser) -> None:
    p.add_argument("--regime", required=True,
                   help="uses, ignores, content_only or boundary_only (docs/protocols.md section 6c)")  # fmt: skip
    p.add_argument("--spec", required=True, type=json_arg,
                   help="JSON: the study's reliability settings (behaviour: the nets) + 'study' + 'posenet'")  # fmt: skip
    p.add_argument("--output", required=True, help="per-run CSV (provenance JSON beside it)")
    p.add_argument("--threads", type=int, default=1)


def _spec(args):
    from padpos.stages.reliability.runs import spec_with_defaults

    try:
        return spec_with_defaults(args.spec)
    except ValueError as err:
        raise SystemExit(str(err)) from err


def run_reliability_reference(args: argparse.Namespace) -> None:
    import torch

    from padpos.stages.reliability.runs import run_reference_job

    torch.set_num_threads(args.threads)
    run_reference_job(_spec(args), args.data, args.output)


def run_reliability_backbones(args: argparse.Namespace) -> None:
    import torch

    from padpos.stages.reliability.runs import run_backbones_job

    torch.set_num_threads(args.threads)
    run_backbones_job(args.checkpoints, args.data, _spec(args), args.output)


def run_reliability_behaviour(args: argparse.Namespace) -> None:
    import torch

    from padpos.stages.reliability.behaviour import run_regime_job
    from padpos.stages.reliability.boxnets import check_regime

    torch.set_num_threads(args.threads)
    try:
        regime = check_regime(args.regime)
    except ValueError as err:
        raise SystemExit(str(err)) from err
    run_regime_job(regime, _spec(args), args.output)


def configure_plot_metric_reliability(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--table", "metric_reliability.csv", many=False)


def configure_plot_metric_calibration(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--table", "metric_calibration.csv", many=False)
    p.add_argument("--summary", help="metric_reliability_summary.csv (Spearman per metric in the titles)")


def run_plot_metric_reliability(args: argparse.Namespace) -> None:
    import pandas as pd

    from padpos.io import save_figure
    from padpos.stages.reliability.figures import plot_reliability

    save_figure(plot_reliability(pd.read_csv(args.table), args.title), args.output)


def run_plot_metric_calibration(args: argparse.Namespace) -> None:
    import pandas as pd

    from padpos.io import save_figure
    from padpos.stages.reliability.figures import plot_calibration

    summary = pd.read_csv(args.summary) if args.summary else None
    save_figure(plot_calibration(pd.read_csv(args.table), summary, args.title), args.output)


def configure_plot_metric_comparison(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--table", "metric_comparison.csv", many=False)


def run_plot_metric_comparison(args: argparse.Namespace) -> None:
    import pandas as pd

    from padpos.io import save_figure
    from padpos.stages.reliability.figures import plot_comparison

    save_figure(plot_comparison(pd.read_csv(args.table), args.title), args.output)
