"""Table of the training stage: final held-out accuracy per arch x padding."""

from __future__ import annotations

import pandas as pd

from padpos.stats import summarize


def table_training(metrics: pd.DataFrame) -> pd.DataFrame:
    """Final held-out accuracy (%) per arch x padding over seeds (each run's last epoch)."""
    last = metrics.loc[metrics.groupby(["arch", "padding", "seed"])["epoch"].idxmax()]
    out = summarize(last, ["arch", "padding"], "test_acc", prefix="test_acc")
    out["epochs"] = last.groupby(["arch", "padding"], sort=False)["epoch"].max().values
    return out
