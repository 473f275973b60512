"""Manifest of the claims stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=88,  # after every stage whose tables it reads
    commands=(
        # a few forward passes of untrained nets: no allocator tuning needed (not `computes`)
        Command("scheme-equivalence", "which padding schemes compute the same function on an arch (numerically)"),
        Command("claims", "the replication scorecard: every paper claim's statistic, interval and verdict"),
        Command("claims-rules", "the table of claim rules (docs/protocols.md section 8), from the claims' code"),
        Command("plot-claims", "the scorecard: each claim's statistic and interval against its threshold"),
    ),
)
