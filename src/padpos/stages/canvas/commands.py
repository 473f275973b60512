"""Commands of the canvas stage: ``canvas`` (one arch x padding x seed) and its two figures."""

from __future__ import annotations

import argparse
import sys

from padpos.cli import add_figure_arguments, json_arg


def configure_canvas(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_arg, required=True,
                   help="JSON: study, arch, padding, seed, archs (the study's, whose largest receptive "
                        "field sets the grid) + the canvas settings (config section canvas)")  # fmt: skip
    p.add_argument("--data", required=True, help="data manifest.json of the study")
    p.add_argument("--canvas-output", required=True, help="per-run CSV: accuracy per canvas colour x task x cell")
    p.add_argument("--provenance", required=True, help="provenance JSON")
    p.add_argument("--threads", type=int, default=1)


def run_canvas(args: argparse.Namespace) -> None:
    import torch

    from padpos.stages.canvas.boundary import run_boundary

    torch.set_num_threads(max(1, args.threads))
    out = {"canvas": args.canvas_output, "provenance": args.provenance}
    prov = run_boundary(args.spec, args.data, out)
    print(f"canvas nets ({prov['grid']} x {prov['grid']} cells of {prov['cell_size']} px) in "
          f"{prov['wall_time_s']:.1f}s", file=sys.stderr)  # fmt: skip


def configure_plot_canvas_location(p: argparse.ArgumentParser) -> None:
    add_figure_arguments(p, "--runs", "per-run CSV files")


configure_plot_border_distance = configure_plot_canvas_location


def run_plot_canvas_location(args: argparse.Namespace) -> None:
    from padpos.io import read_runs, save_figure
    from padpos.stages.canvas.figures import plot_canvas_location

    save_figure(plot_canvas_location(read_runs(args.runs), args.title), args.output)


def run_plot_border_distance(args: argparse.Namespace) -> None:
    from padpos.io import read_runs, save_figure
    from padpos.stages.canvas.figures import plot_border_distance

    save_figure(plot_border_distance(read_runs(args.runs), args.title), args.output)
