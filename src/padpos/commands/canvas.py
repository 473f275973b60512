"""Commands of the boundary-effect stage ([ISL21], PROTOCOLS.md 5): argparse glue only;
the science is in :mod:`padpos.canvas`, the figures in :mod:`padpos.plots.canvas`."""

from __future__ import annotations

import argparse
import sys


def _json(text: str):
    from padpos.cli import json_arg

    return json_arg(text)


def configure_canvas(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=_json, required=True,
                   help="JSON: study, seed + the canvas settings (config section canvas)")  # fmt: skip
    p.add_argument("--checkpoint", required=True, help="the trained backbone's model.pt")
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


def configure_table(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", nargs="+", required=True, help="per-run CSV files")
    p.add_argument("--output", required=True, help="CSV path (.md and .tex written beside it)")


def run_table_location(args: argparse.Namespace) -> None:
    from padpos.canvas import canvas_location_table
    from padpos.tables import read_runs, write_table

    write_table(canvas_location_table(read_runs(args.runs)), args.output)


def run_table_border(args: argparse.Namespace) -> None:
    from padpos.canvas import border_distance_table
    from padpos.tables import read_runs, write_table

    write_table(border_distance_table(read_runs(args.runs)), args.output)


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


from padpos.cli import Command  # noqa: E402  (cli imports modules lazily; no cycle at import)

CLI = {
    "canvas": Command(configure_canvas, run_canvas, "canvas location test + border distance of one run"),
    "table-canvas-location": Command(configure_table, run_table_location, "canvas location accuracy per ring"),
    "table-border-distance": Command(configure_table, run_table_border, "accuracy per border distance"),
    "plot-canvas-location": Command(configure_plot, run_plot_location, "canvas location heat maps and rings"),
    "plot-border-distance": Command(configure_plot, run_plot_border, "accuracy versus border distance"),
}
