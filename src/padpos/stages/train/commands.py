"""Commands of the training stage: ``train`` and ``plot-training``."""

from __future__ import annotations

import argparse
import sys

from padpos.cli import add_figure_arguments, json_arg


def configure_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_arg, required=True, help="JSON: arch, padding, seed, epochs, ...")
    p.add_argument("--data", required=True, help="data manifest.json of the study")
    p.add_argument("--out-dir", required=True, help="folder for model.pt, metrics.csv, ...")
    p.add_argument(
        "--resume-dir", required=True, help="folder for the resume state and the metrics so far (kept if killed)"
    )
    p.add_argument(
        "--tensorboard-dir", help="TensorBoard event files when spec tensorboard is true (default: OUT_DIR/tensorboard)"
    )
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch")


def run_train(args: argparse.Namespace) -> None:
    from padpos.stages.train.training import train_model

    prov = train_model(args.spec, args.data, args.out_dir, args.resume_dir, args.threads, args.tensorboard_dir)
    print(
        f"trained {prov['spec']['arch']}/{prov['spec']['padding']}/seed{prov['spec']['seed']}: "
        f"test acc {prov['final_test_acc']:.1f}% in {prov['wall_time_s']:.0f}s on {prov['device']}"
        + (f" - FAILED (below the floor {prov['min_test_acc']:.1f}%)" if prov["failed"] else ""),
        file=sys.stderr,
    )


def configure_plot_training(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--metrics", "per-run metrics.csv files")


def run_plot_training(args: argparse.Namespace) -> None:
    from padpos.io import read_runs, save_figure
    from padpos.stages.train.figures import plot_training

    save_figure(plot_training(read_runs(args.metrics), args.title), args.output)
