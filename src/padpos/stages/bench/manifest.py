"""Manifest of the bench stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=100,
    commands=(
        Command(
            "bench",
            "throughput of training (pipeline vs bare loop, every padding scheme), PPP, PosENet",
            computes=True,
        ),
    ),
)
