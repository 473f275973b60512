"""padpos: position information that CNN padding leaks into features.

The package holds all the science of the pipeline; the Snakemake workflow is a
thin layer that calls one function per rule through :mod:`padpos.cli` (the commands live in :mod:`padpos.commands`).
"""

__version__ = "0.1.0"
