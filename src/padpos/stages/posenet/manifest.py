"""Manifest of the PosENet stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=40,
    commands=(
        Command("posenet", "PosENet readout of one frozen backbone (Islam et al. 2020)", computes=True),
        Command("posenet-alone", "PosENet alone on raw RGB with its own padding 0/1/2", computes=True),
        Command("plot-posenet", "PosENet SPC per padding scheme and target"),
        Command("plot-posenet-examples", "PosENet example predictions next to the ground-truth maps"),
    ),
    tables=("posenet", "posenet_alone"),
    config_key="posenet",
    defaults="padpos.probes.readout:DEFAULTS",
)
