"""Manifest of the canvas stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=70,
    commands=(
        Command(
            "canvas",
            "canvas nets of one arch x padding x seed: cell and class of an image on a k x k canvas (Islam et al. 2021)",
            computes=True,
        ),
        Command("plot-canvas-location", "canvas nets: per-cell heat maps of location and class accuracy"),
        Command("plot-border-distance", "canvas nets: location and class accuracy per ring (border distance in cells)"),
    ),
    tables=("canvas_location", "canvas_cells"),
    config_key="canvas",
    defaults="boundary:DEFAULTS",
)
