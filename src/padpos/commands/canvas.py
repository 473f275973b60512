"""Commands of the boundary-effect stage ([ISL21], PROTOCOLS.md 5): argparse glue only;
the science is in :mod:`padpos.canvas`, the figures in :mod:`padpos.plots.canvas`, the
tables (``canvas_location``, ``border_distance``) in :mod:`padpos.tables`."""

from __future__ import annotations

import argparse
import sys

from padpos.commands import Command, json_arg


def configure_canvas(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=json_arg, required=True,
                   help="JSON: study, seed + the canvas settings (config section canvas)")  # fmt: skip
    p.add_argument("--checkpoint", required=True, help="the trained backbone's model.pt (its meta's 'failed' flag marks the rows)")
    p.add_argument("--data", required=True, help="data manifest.json of the study")
    p.add_argument("--canvas-output", required=True, help="per-run CSV: accuracy per canvas colour x cell")
    p.add_argument("--border-output", required=True, help="per-run CSV: accuracy per border distance")
    p.add_argument("--provenance", required=True, help="provenance JSON")
    p.add_argument("--threads", type=int, default=1)


def run_canvas(args: argparse.Namespace) -> None:
    import torch

    from padpos.canvas import run_boundary

    torch.set_num_threads(max(1, args.threads))
    out = {"canvas": args.canvas_output, "border": args.border_output, "provenance": args.provenance}
    prov = run_boundary(args.spec, args.checkpoint, args.data, out)
    print(f"canvas test + border distance in {prov['wall_time_s']:.1f}s "
          f"(canvas {prov['canvas_wall_time_s']:.1f}s, border {prov['border_wall_time_s']:.1f}s)",
          file=sys.stderr)  # fmt: skip


def configure_plot(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", nargs="+", required=True, help="per-run CSV files")
    p.add_argument("--title", default="", help="what the study is (shown in the title)")
    p.add_argument("--output", required=True, help="figure path (.png or .pdf)")


def run_plot_location(args: argparse.Namespace) -> None:
    from padpos.plots.canvas import plot_canvas_location
    from padpos.plots.style import save_figure
    from padpos.tables import read_runs

    save_figure(plot_canvas_location(read_runs(args.runs), args.title), args.output)


def run_plot_border(args: argparse.Namespace) -> None:
    from padpos.plots.canvas import plot_border_distance
    from padpos.plots.style import save_figure
    from padpos.tables import read_runs

    save_figure(plot_border_distance(read_runs(args.runs), args.title), args.output)


COMMANDS = {
    "canvas": Command(configure_canvas, run_canvas, computes=True),
    "plot-canvas-location": Command(configure_plot, run_plot_location),
    "plot-border-distance": Command(configure_plot, run_plot_border),
}
