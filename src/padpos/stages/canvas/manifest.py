"""Manifest of the boundary-effect stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=70,
    commands=(
        Command(
            "canvas",
            "canvas location test and border distance of one trained run (Islam et al. 2021)",
            computes=True,
        ),
        Command("plot-canvas-location", "canvas location test: per-cell heat maps and accuracy per ring"),
        Command("plot-border-distance", "classification accuracy versus the object's distance to the border"),
    ),
    tables=("canvas_location", "border_distance"),
    config_key="canvas",
    defaults="boundary:DEFAULTS",
)
