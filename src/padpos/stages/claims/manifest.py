"""Manifest of the claims stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=88,  # after every stage whose tables it reads
    commands=(
        Command("claims", "the replication scorecard: every paper claim's statistic, interval and verdict"),
        Command("plot-claims", "the scorecard: each claim's statistic and interval against its threshold"),
    ),
)
