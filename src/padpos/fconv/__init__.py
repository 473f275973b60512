"""F-Conv tests of Kayhan & van Gemert 2020 (PROTOCOLS.md section 4).

- :mod:`padpos.fconv.redgreen`: the Red-Green test (4a): two coloured boxes whose
  left-right order is the class; the dissimilar test set moves them to where the
  other class trained. V-Conv, every S-Conv scheme, F-Conv, and the official
  code's pad-2 circular variant.
- :mod:`padpos.fconv.location`: the location (quadrant) test (4b): an image at the
  top-left or bottom-right of a black canvas; accuracy vs an extra border B.

Commands (one job each, in :mod:`padpos.commands.fconv`): ``fconv-redgreen`` (every
seed of one variant) and ``fconv-location`` (the border sweep of one padding x init x seed).
"""

from __future__ import annotations

from pathlib import Path


def write_run(df, output: str | Path, spec: dict, started: float, device="cpu") -> None:
    """Write one job's per-run CSV and its provenance beside it (``.provenance.json``)."""
    from padpos import runtime
    from padpos.io import write_csv

    write_csv(output, df)
    prov = runtime.provenance(spec, started, device, rows=len(df))
    runtime.write_provenance(runtime.provenance_path(output), prov)


__all__ = ["write_run"]
