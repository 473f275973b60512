"""Aggregation of per-run results over seeds, and table output (.csv, .md, .tex)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from padpos.io import read_csv, write_csv, write_text


def read_runs(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Concatenate per-run CSV files; a missing, empty or truncated file is an error naming it."""
    frames = [read_csv(p, "per-run result") for p in paths]
    if not frames:
        raise ValueError("no per-run result files given")
    return pd.concat(frames, ignore_index=True)


def summarize(df: pd.DataFrame, by: Sequence[str], values: str = "value") -> pd.DataFrame:
    """Mean, sample std (ddof=1; NaN-free: 0 for a single seed) and n of ``values`` per group."""
    g = df.groupby(list(by), sort=False, dropna=False)[values]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def write_table(df: pd.DataFrame, csv_path: str | Path, float_format: str = "%.4g") -> None:
    """Write ``df`` as CSV at ``csv_path`` and as Markdown / LaTeX siblings (.md, .tex)."""
    csv_path = Path(csv_path)
    write_csv(csv_path, df)
    write_text(csv_path.with_suffix(".md"), df.to_markdown(index=False, floatfmt=".4g") + "\n")
    write_text(
        csv_path.with_suffix(".tex"),
        df.to_latex(index=False, float_format=lambda v: float_format % v),
    )


# ---------------------------------------------------------------- training table
def training_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Final held-out accuracy (%) per arch x padding: mean, std, n over seeds."""
    last = metrics.loc[metrics.groupby(["arch", "padding", "seed"])["epoch"].idxmax()]
    out = summarize(last, ["arch", "padding"], "test_acc")
    out = out.rename(columns={"mean": "test_acc_mean", "std": "test_acc_std"})
    out["epochs"] = last.groupby(["arch", "padding"], sort=False)["epoch"].max().values
    return out


def _configure_training(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics", nargs="+", required=True, help="per-run metrics.csv files")
    p.add_argument("--output", required=True, help="CSV path (.md and .tex written beside it)")


def _run_training(args: argparse.Namespace) -> None:
    write_table(training_table(read_runs(args.metrics)), args.output)


from padpos.cli import Command  # noqa: E402  (cli imports modules lazily; no cycle at import)

CLI = {
    "table-training": Command(
        _configure_training, _run_training, "final held-out accuracy per arch x padding"
    )
}
