"""Manifest of the location-test stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=60,
    commands=(
        Command(
            "fconv-location",
            "F-Conv location test: border sweep of every seed of one padding x init",
            computes=True,
        ),
        Command("plot-fconv-location", "location-test accuracy vs extra border per padding and init"),
    ),
    tables=("fconv_location",),
    config_key="fconv.location",
    defaults="location:DEFAULTS",
)
