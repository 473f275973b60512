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
    p.add_argument(
        "--launch",
        type=json_arg,
        default={},
        help="JSON: settings that change no result (num_workers, compile, tensorboard, nproc: "
        "data-parallel processes, started with torchrun)",
    )
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (shared by the processes)")


def run_train(args: argparse.Namespace) -> int:
    """Train one run; with ``nproc`` > 1 (and not yet in a torchrun worker) start the
    workers through torchrun. A run stopped by a signal exits with PREEMPTED_EXIT after
    saving its state (a failure, so that Snakemake retries and the retry resumes)."""
    import os

    from padpos.stages.train import parallel
    from padpos.stages.train.preemption import PREEMPTED_EXIT, Preempted
    from padpos.stages.train.training import train_model

    nproc = int(args.launch.get("nproc", 1))
    if nproc > 1 and "LOCAL_RANK" not in os.environ:
        return parallel.launch(_argv(args), nproc)
    try:
        prov = train_model(
            args.spec, args.data, args.out_dir, args.resume_dir, args.threads, args.tensorboard_dir, args.launch
        )
    except Preempted as stopped:
        print(f"padpos train: {stopped}", file=sys.stderr)
        return PREEMPTED_EXIT
    if not parallel.from_environment().main:
        return 0
    print(
        f"trained {prov['spec']['arch']}/{prov['spec']['padding']}/seed{prov['spec']['seed']}: "
        f"test acc {prov['final_test_acc']:.1f}% in {prov['wall_time_s']:.0f}s on {prov['device']}"
        + (f" - FAILED (below the floor {prov['min_test_acc']:.1f}%)" if prov["failed"] else ""),
        file=sys.stderr,
    )
    return 0


def _argv(args: argparse.Namespace) -> list[str]:
    """The train command line of ``args`` (for the torchrun workers)."""
    import json

    argv = ["train", "--spec", json.dumps(args.spec), "--data", args.data, "--out-dir", args.out_dir,
            "--resume-dir", args.resume_dir, "--launch", json.dumps(args.launch), "--threads", str(args.threads)]  # fmt: skip
    if args.tensorboard_dir:
        argv += ["--tensorboard-dir", args.tensorboard_dir]
    return argv


def configure_plot_training(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--metrics", "per-run metrics.csv files")


def run_plot_training(args: argparse.Namespace) -> None:
    from padpos.io import read_runs, save_figure
    from padpos.stages.train.figures import plot_training

    save_figure(plot_training(read_runs(args.metrics), args.title), args.output)
