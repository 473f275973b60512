"""Table of the location test: accuracy per padding x init x border."""

from __future__ import annotations

import pandas as pd

from padpos.stats import summarize


def table_fconv_location(runs: pd.DataFrame) -> pd.DataFrame:
    """Location-test accuracy (%) per padding x init x border over seeds."""
    out = summarize(runs, ["padding", "init", "border"], "accuracy", prefix="accuracy")
    return out.sort_values(["padding", "init", "border"], kind="stable").reset_index(drop=True)
