"""The scorecard of one study: its summary tables read, every claim decided."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from padpos.io import read_csv
from padpos.stages.claims.definitions import CLAIMS
from padpos.stages.claims.scorecard import Tables, scorecard


def build_scorecard(table_paths: Sequence[str | Path], spec: dict) -> pd.DataFrame:
    """Read every table (its name is its file's stem) and decide every claim. ``spec``:
    ``arch`` (the study's main arch), ``padding_free_arch`` (the padding-free arm's, if
    any) and ``canvas_grid``."""
    tables = {Path(p).stem: read_csv(p, "summary table") for p in table_paths}
    context = Tables(tables, spec.get("arch"), spec.get("padding_free_arch"),
                     {k: v for k, v in spec.items() if k not in ("arch", "padding_free_arch")})  # fmt: skip
    return scorecard(CLAIMS, context)
