"""Manifest of the training stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=20,
    commands=(
        Command("train", "train one backbone (arch x padding x seed), resumable", computes=True),
        Command("plot-training", "held-out accuracy per epoch per padding"),
    ),
    tables=("training",),
    config_key="train",
    defaults="training:DEFAULTS",
)
