"""Table of the Red-Green test: accuracy per conv type x test set."""

from __future__ import annotations

import pandas as pd

from padpos.stats import summarize


def table_fconv_redgreen(runs: pd.DataFrame) -> pd.DataFrame:
    """Red-Green accuracy (%) per conv type (``padding``) x test set over seeds."""
    return summarize(runs, ["padding", "test_set"], "accuracy", prefix="accuracy")
