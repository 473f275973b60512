"""The scorecard of one study: its summary tables and the runs behind them read, every
claim decided."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from padpos.io import read_csv, read_runs
from padpos.stages.claims.definitions import CLAIMS
from padpos.stages.claims.scorecard import Tables, scorecard


def parse_runs(items: Sequence[str]) -> dict[str, list[str]]:
    """``NAME:PATH`` items (a table's name, one of its per-run files) -> {name: [paths]}."""
    out: dict[str, list[str]] = {}
    for item in items:
        name, sep, path = str(item).partition(":")
        if not sep or not name or not path:
            raise ValueError(f"--runs takes TABLE:PATH items (a table name, one of its per-run files), got {item!r}")
        out.setdefault(name, []).append(path)
    return out


def run_values(runs: Mapping[str, Sequence[str | Path]], exclude_failed: bool = True) -> dict[str, pd.DataFrame]:
    """Table name -> the runs behind its rows: each table rebuilt from its per-run files
    (as ``padpos table`` builds it) with :func:`padpos.stats.recording_runs` active."""
    from padpos.stages import build_table
    from padpos.stats import recording_runs

    out = {}
    for name, paths in runs.items():
        with recording_runs() as frames:
            build_table(name, read_runs(paths), exclude_failed=exclude_failed)
        if frames:
            out[name] = pd.concat(frames, ignore_index=True)
    return out


def build_scorecard(table_paths: Sequence[str | Path], spec: dict,
                    runs: Mapping[str, Sequence[str | Path]] | None = None) -> pd.DataFrame:  # fmt: skip
    """Read every table (its name is its file's stem) and the runs behind them (``runs``:
    table name -> its per-run files) and decide every claim. ``spec``: ``arch`` (the
    study's main arch), ``padding_free_arch`` (the padding-free arm's, if any) and the
    settings claims read (e.g. ``canvas_grid``)."""
    tables = {Path(p).stem: read_csv(p, "summary table") for p in table_paths}
    context = Tables(tables, spec.get("arch"), spec.get("padding_free_arch"),
                     {k: v for k, v in spec.items() if k not in ("arch", "padding_free_arch")},
                     run_values(runs or {}))  # fmt: skip
    return scorecard(CLAIMS, context)
