"""Manifest of the data stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=10,
    commands=(
        Command("download", "download a file and verify its checksum"),
        Command("prepare-data", "generate or download a study's data set into a checksummed cache"),
    ),
    config_key="data",
)
