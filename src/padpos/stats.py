"""Statistics over runs: the honest spread every table reports, and small helpers.

Honest spread (:func:`summarize`): every table has ``mean, std, n, ci95, n_failed``
per group. Runs flagged ``failed`` (a true boolean column of that name: the run
missed its quality floor) are left out of mean / std / ci95 by default and counted
in ``n_failed``; ``std`` and ``ci95`` are NaN for a single run, never 0. The 95 %
interval is Student's t (``scipy.stats.t``).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import warnings
from typing import Callable, Iterator, Sequence

import pandas as pd

# whether summarize() leaves failed runs out of mean / std / ci95 (set per table build)
_EXCLUDE_FAILED = contextvars.ContextVar("exclude_failed", default=True)
# where summarize() records the runs behind each summary row (None: not recording)
_RECORDED = contextvars.ContextVar("recorded_runs", default=None)

# per-run columns that name how many test images one run's accuracy was measured on (the
# first present is kept, as ``n_test``): the binomial noise of that accuracy
TEST_SIZE_COLUMNS = ("n_test", "num_test_images", "n")


class FailedRunWarning(UserWarning):
    """A run finished below its quality floor: it is flagged (``failed``), not averaged in."""


@contextlib.contextmanager
def failed_runs_excluded(exclude: bool) -> Iterator[None]:
    """Within the block, :func:`summarize` excludes failed runs by default iff ``exclude``."""
    token = _EXCLUDE_FAILED.set(bool(exclude))
    try:
        yield
    finally:
        _EXCLUDE_FAILED.reset(token)


@contextlib.contextmanager
def recording_runs() -> Iterator[list]:
    """Within the block, every :func:`summarize` call appends the runs behind its rows to
    the yielded list, as one long DataFrame: its ``by`` columns, ``value`` (the summarised
    column), ``prefix`` (the summary's column prefix, "" for none), and, where the runs
    have them, ``seed``, ``failed``, ``converged`` and ``n_test`` (the test images behind
    one run's accuracy: the first of :data:`TEST_SIZE_COLUMNS` present, for a summarised
    column named ``accuracy``, in %; NaN otherwise). Failed runs are
    kept with ``failed`` true. The claims stage rebuilds each table inside this block to
    read the per-run values of its rows (paired statistics, binomial noise)."""
    frames: list = []
    token = _RECORDED.set(frames)
    try:
        yield frames
    finally:
        _RECORDED.reset(token)


def _record(df: pd.DataFrame, by: list, values: str, prefix: str | None, failed: pd.Series) -> None:
    frames = _RECORDED.get()
    if frames is None:
        return
    out = df[by].copy()
    out["value"] = df[values].astype(float)
    out["prefix"] = prefix or ""
    if "seed" in df.columns and "seed" not in by:
        out["seed"] = df["seed"]
    out["failed"] = failed.to_numpy()
    out["converged"] = ~unconverged_mask(df).to_numpy()
    # only an accuracy (in %) is a proportion of test images
    size = values == "accuracy" and next((c for c in TEST_SIZE_COLUMNS if c in df.columns and c not in by), None)
    out["n_test"] = pd.to_numeric(df[size], errors="coerce") if size else float("nan")
    frames.append(out.reset_index(drop=True))


def t_quantile(p: float, dof: int) -> float:
    """The ``p`` quantile of Student's t with ``dof`` >= 1 degrees of freedom."""
    from scipy import stats

    if dof < 1:
        raise ValueError(f"degrees of freedom must be positive, got {dof}")
    return float(stats.t.ppf(p, dof))


def ci95_halfwidth(std: float, n: int) -> float:
    """Half-width of the t-based 95 % confidence interval of a mean: t(0.975, n-1) * std / sqrt(n);
    NaN for n < 2."""
    if n < 2 or not math.isfinite(std):
        return math.nan
    return t_quantile(0.975, n - 1) * std / math.sqrt(n)


def failed_mask(df: pd.DataFrame) -> pd.Series:
    """True for rows flagged failed (a boolean ``failed`` column; missing = not failed).
    The one reading of the flag: tables and figures exclude the same runs."""
    if "failed" not in df.columns:
        return pd.Series(False, index=df.index)
    return bool_column(df["failed"])


def unconverged_mask(df: pd.DataFrame) -> pd.Series:
    """True for rows whose ``converged`` column is explicitly false (missing = converged)."""
    if "converged" not in df.columns:
        return pd.Series(False, index=df.index)
    return df["converged"].map(lambda v: str(v).strip().lower() in ("false", "0", "0.0"))


def bool_column(col: pd.Series) -> pd.Series:
    """A boolean column as written (True / False), also when read back from a CSV as text
    or with empty cells (empty = False)."""
    if col.dtype == object:
        col = col.map(lambda v: str(v).strip().lower() in ("true", "1", "1.0"))
    return col.fillna(False).astype(bool)


def summarize(
    df: pd.DataFrame,
    by: Sequence[str],
    values: str = "value",
    prefix: str | None = None,
    exclude_failed: bool | None = None,
) -> pd.DataFrame:
    """Per group of ``by``: ``mean, std, n, ci95, n_failed`` of column ``values``.

    ``n`` counts the runs averaged; ``std`` is the sample std (ddof = 1) and ``ci95`` the
    t-based 95 % CI half-width, both NaN when n = 1. Rows whose ``failed`` column is true
    are counted in ``n_failed`` and left out of the statistics when ``exclude_failed``
    (default: the table build's setting, see :func:`failed_runs_excluded`; True outside
    one). A group whose every run failed keeps its row, with n = 0 and NaN statistics.
    With ``prefix``, the columns are ``<prefix>_mean``, ``<prefix>_std``, ``n``,
    ``<prefix>_ci95``, ``n_failed``. Groups keep their order of first appearance.

    Runs that record a ``converged`` column (False: still learning when training stopped)
    are averaged in, but counted in ``n_unconverged`` and named in ``unconverged_seeds``
    (space-separated, when the rows have a ``seed``): a claim read on them is inconclusive.
    """
    by = list(by)
    missing = [c for c in [*by, values] if c not in df.columns]
    if missing:
        raise ValueError(f"cannot summarize: no column(s) {missing} in {list(df.columns)}")
    if exclude_failed is None:
        exclude_failed = _EXCLUDE_FAILED.get()
    failed = failed_mask(df)
    _record(df, by, values, prefix, failed)
    work = df[by].copy()
    work["_value"] = df[values].where(~failed) if exclude_failed else df[values]
    work["_failed"] = failed.astype(int)
    g = work.groupby(by, sort=False, dropna=False)
    out = g["_value"].agg(mean="mean", std="std", n="count").reset_index()
    out["n_failed"] = g["_failed"].sum().to_numpy()
    out.loc[out["n"] < 2, "std"] = math.nan
    out["ci95"] = [ci95_halfwidth(s, int(n)) for s, n in zip(out["std"], out["n"])]
    columns = [*by, "mean", "std", "n", "ci95", "n_failed"]
    if "converged" in df.columns:
        unconverged = unconverged_mask(df)
        flags = df[by].assign(_n=unconverged.astype(int),
                              _seed=df["seed"].astype(object).where(unconverged, None) if "seed" in df.columns else None)  # fmt: skip
        per_group = flags.groupby(by, sort=False, dropna=False)
        out["n_unconverged"] = per_group["_n"].sum().to_numpy()
        columns.append("n_unconverged")
        if "seed" in df.columns:
            out["unconverged_seeds"] = [
                " ".join(_seed_text(v) for v in sorted(pd.unique(seeds.dropna()))) for _, seeds in per_group["_seed"]
            ]
            columns.append("unconverged_seeds")
    out = out[columns]
    if prefix:
        out = out.rename(columns={k: f"{prefix}_{k}" for k in ("mean", "std", "ci95")})
    return out


def _seed_text(seed) -> str:
    """A seed as written in a name: 3, not 3.0 (a CSV column with empty cells is float)."""
    return str(int(seed)) if isinstance(seed, float) and seed.is_integer() else str(seed)


def first_seen_rank(values) -> dict:
    """Value -> its position in ``values`` by first appearance (for stable row orders)."""
    return {v: i for i, v in enumerate(dict.fromkeys(values))}


def order_rows(df: pd.DataFrame, keys: Sequence[str], orders: dict[str, Sequence]) -> pd.DataFrame:
    """Rows sorted (stably) by ``keys``: a key in ``orders`` in that order of values, any
    other key by its own values (numbers ascending)."""
    ranks = {key: first_seen_rank(order) for key, order in orders.items()}
    return df.sort_values(
        list(keys),
        kind="stable",
        key=lambda col: col.map(ranks[col.name]) if col.name in ranks else col,
    ).reset_index(drop=True)


def spearman_rho(x, y) -> float:
    """Spearman's rank correlation of two sequences; NaN when either is constant or has
    fewer than two values."""
    import numpy as np
    from scipy import stats

    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or np.unique(x).size < 2 or np.unique(y).size < 2:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)


def flag_failed_runs(
    runs: pd.DataFrame, failed: pd.Series, run_keys: Sequence[str], describe: Callable[[pd.Series], str]
) -> pd.DataFrame:
    """``runs`` with the boolean ``failed`` column set from the mask ``failed``, and one
    :class:`FailedRunWarning` per failed run (rows grouped by ``run_keys``), whose text is
    ``describe(first row of the run)``: the run's name and why it failed."""
    runs = runs.copy()
    runs["failed"] = failed.astype(bool).to_numpy()
    for _key, rows in runs[runs["failed"]].groupby(list(run_keys), sort=False):
        warnings.warn(describe(rows.iloc[0]), FailedRunWarning, stacklevel=3)
    return runs


def passed_means(df: pd.DataFrame, by: str, run: Sequence[str], value: str = "accuracy") -> str:
    """A log line's summary: the mean ``value`` per ``by`` over the runs (rows keyed by the
    ``run`` columns) not flagged failed, as the tables average them, and how many were."""
    failed = failed_mask(df)
    means = df[~failed].groupby(by)[value].mean().round(1).to_dict()
    run = list(run)
    n_runs, n_failed = len(df[run].drop_duplicates()), len(df.loc[failed, run].drop_duplicates())
    return f"{means} ({n_failed} of {n_runs} runs flagged failed, not averaged in)"


__all__ = [
    "FailedRunWarning",
    "bool_column",
    "ci95_halfwidth",
    "failed_mask",
    "failed_runs_excluded",
    "first_seen_rank",
    "flag_failed_runs",
    "order_rows",
    "passed_means",
    "recording_runs",
    "spearman_rho",
    "summarize",
    "t_quantile",
    "unconverged_mask",
]
