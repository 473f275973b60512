"""padpos: position information that CNN padding leaks into features.

The package holds all the science of the pipeline; the Snakemake workflow is a thin
layer that calls one command per rule through :mod:`padpos.cli`. One folder per
experiment under :mod:`padpos.stages`, shared building blocks below them, workflow
plumbing in :mod:`padpos.workflow` (see docs/developing.md).
"""

__version__ = "0.1.0"
