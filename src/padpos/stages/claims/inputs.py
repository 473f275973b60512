"""The scorecard's inputs: a row of a summary table with the runs behind it (:class:`Group`)
and the study's tables with row lookup (:class:`Tables`); the API is described in
:mod:`padpos.stages.claims.scorecard`, which re-exports every name."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd


class NotMeasured(LookupError):
    """The study has no table or no row for what a claim reads."""


class NotPaired(ValueError):
    """A paired statistic was asked of groups that do not share their seeds."""


# ---------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Group:
    """One row of a summary table: a mean over seeds and what stands behind it; with the
    per-run values where the study's runs were read (``seeds`` and ``values`` in the same
    order; failed runs left out, as in the mean) and the test images behind one run's
    accuracy (``n_test``; 0: unknown, or the value is not an accuracy in %)."""

    label: str
    mean: float
    std: float
    n: int
    n_failed: int = 0
    n_unconverged: int = 0
    unconverged_seeds: str = ""
    seeds: tuple = ()
    values: tuple = ()
    n_test: int = 0

    @classmethod
    def from_runs(cls, label: str, values: Sequence[float], seeds: Sequence | None = None,
                  n_test: int = 0, **flags) -> "Group":  # fmt: skip
        """A group from its per-run values (seeds 0, 1, ... when not given)."""
        values = tuple(float(v) for v in values)
        seeds = tuple(seeds) if seeds is not None else tuple(range(len(values)))
        if len(seeds) != len(values):
            raise ValueError(f"{label}: {len(values)} values but {len(seeds)} seeds")
        arr = np.asarray(values, dtype=float)
        std = float(arr.std(ddof=1)) if len(arr) > 1 else math.nan
        return cls(label, float(arr.mean()) if len(arr) else math.nan, std, len(arr), seeds=seeds,
                   values=values, n_test=int(n_test), **flags)  # fmt: skip

    def by_seed(self) -> dict:
        """{seed: value} of the runs behind the row (empty when they were not read)."""
        return dict(zip(self.seeds, self.values))

    def problems(self) -> list[str]:
        """The preconditions this row fails: failed or unconverged runs, no runs at all."""
        out = []
        if self.n_failed:
            out.append(f"{self.label}: {self.n_failed} run(s) failed")
        if self.n_unconverged:
            seeds = f" (seeds {self.unconverged_seeds})" if self.unconverged_seeds else ""
            out.append(f"{self.label}: {self.n_unconverged} run(s) not converged{seeds}")
        if self.n == 0 and not self.n_failed:
            out.append(f"{self.label}: no runs")
        return out

    def describe(self) -> str:
        runs = f": {', '.join(f'{v:.4g}' for v in self.values)}" if self.values else ""
        images = f", {self.n_test} test images" if self.n_test else ""
        return f"{self.label} (n={self.n}{images}{runs})"


class Tables:
    """The study's summary tables by name, with row lookup by column values; ``runs``: the
    per-run rows behind them (table name -> the frame :func:`padpos.stats.recording_runs`
    recorded while rebuilding it), ``settings``: study settings a claim needs."""

    def __init__(self, tables: dict[str, pd.DataFrame], arch: str | None = None,
                 padding_free_arch: str | None = None, settings: dict | None = None,
                 runs: dict[str, pd.DataFrame] | None = None):  # fmt: skip
        self.tables = dict(tables)
        self.arch = arch
        self.padding_free_arch = padding_free_arch
        self.settings = dict(settings or {})  # study settings a claim needs (e.g. the canvas grid)
        self.run_tables = dict(runs or {})

    def table(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            raise NotMeasured(f"this study builds no {name} table")
        return self.tables[name]

    def _with_arch(self, df: pd.DataFrame, match: dict) -> dict:
        if "arch" in df.columns and "arch" not in match:
            arch = self.padding_free_arch if match.get("padding") == "valid" else self.arch
            if arch is not None:
                return {"arch": arch, **match}
        return match

    def group(self, name: str, prefix: str = "", mean: str = "mean", **match) -> Group:
        """The one row of table ``name`` whose columns equal ``match`` (values compared as
        text, so that 0 matches a CSV's 0); ``prefix`` for tables whose statistics are
        ``<prefix>_mean`` etc., ``mean`` for one whose mean column has another name. A
        table with an ``arch`` column is read at the study's main arch, or at its
        padding-free arch for padding ``valid``. The group carries its per-run values
        when the study's runs were read and they are exactly the runs of the row."""
        df = self.table(name)
        match = self._with_arch(df, match)
        rows = _select(df, match, name)
        label = f"{name}[" + ", ".join(f"{v}" for k, v in match.items() if k != "arch") + "]"
        if len(rows) == 0:
            raise NotMeasured(f"{label} is not in this study")
        if len(rows) > 1:
            raise ValueError(f"{label} matches {len(rows)} rows; the claim must name one")
        row = rows.iloc[0]
        runs = _run_values(self, name, prefix, match, int(row["n"]))
        return _row_group(row, label, prefix, mean, runs)

    def runs(self, name: str, prefix: str = "", **match) -> pd.DataFrame:
        """The per-run rows (``value``, ``seed``, ``failed``, ``converged``, ``n_test`` and
        the summary's keys) behind the rows of table ``name`` matching ``match``; failed
        runs included (column ``failed``). NotMeasured when the runs were not read."""
        if name not in self.run_tables:
            raise NotMeasured(f"the runs of table {name} were not read")
        df = self.run_tables[name]
        df = df[df["prefix"].fillna("").astype(str) == prefix] if "prefix" in df.columns else df
        return _select(df, self._with_arch(df, match), name).reset_index(drop=True)

    def values(self, name: str, column: str, **match) -> list:
        """The distinct values of ``column`` in the rows of ``name`` matching ``match``."""
        df = self.table(name)
        for key, value in match.items():
            df = df[df[key].astype(str) == str(value)]
        return list(dict.fromkeys(df[column]))

    # ------------------------------------------------------------ schemes as arms
    def same_as(self, scheme: str) -> str:
        """The representative of the schemes computing the same function as ``scheme`` on
        the study's main arch (the ``scheme_equivalence`` table), or ``scheme`` itself."""
        return _same_as(self, scheme)

    def scheme_arms(self, schemes: Sequence[str]) -> tuple[list[str], list[str]]:
        """One representative per distinct function among ``schemes`` (in their order), and
        one note per merged arm ("symmetric = replicate on small_resnet: one arm")."""
        return _scheme_arms(self, schemes)

    def equivalence_note(self, scheme: str, others: Sequence[str]) -> str:
        return (f"{' = '.join([*others, scheme])} compute the same function on {self.arch} "
                f"(scheme_equivalence): one arm, {scheme}")  # fmt: skip


def _row_group(row: pd.Series, label: str, prefix: str, mean: str,
               runs: tuple[tuple, tuple, int]) -> Group:  # fmt: skip
    """The :class:`Group` of one summary row (its statistics ``<prefix>_<mean>`` etc.) and
    the ``(seeds, values, n_test)`` of the runs behind it."""
    col = (lambda c: f"{prefix}_{c}") if prefix else (lambda c: c)
    unconverged = row.get("unconverged_seeds", "")
    n = int(row["n"])
    seeds, values, n_test = runs
    return Group(
        label=label,
        mean=float(row[col(mean)]),
        std=float(row[col("std")]) if pd.notna(row[col("std")]) else math.nan,
        n=n,
        n_failed=int(row.get("n_failed", 0) or 0),
        n_unconverged=int(row.get("n_unconverged", 0) or 0) if pd.notna(row.get("n_unconverged", 0)) else 0,
        unconverged_seeds=_seeds_text(unconverged),
        seeds=seeds, values=values, n_test=n_test,
    )  # fmt: skip


def _run_values(t: Tables, name: str, prefix: str, match: dict, n: int) -> tuple[tuple, tuple, int]:
    """(seeds, values, n_test) of the runs behind the one row of ``name`` matching ``match``
    (its ``n`` runs), or empty when the runs were not read or are not exactly that row's."""
    if name not in t.run_tables:
        return (), (), 0
    df = t.run_tables[name]
    if any(key not in df.columns for key in match):
        return (), (), 0
    rows = t.runs(name, prefix, **match)
    rows = rows[~rows["failed"].astype(bool)] if "failed" in rows.columns else rows
    if len(rows) != n or "seed" not in rows.columns:
        return (), (), 0  # not the runs of this one row (another grouping): do not guess
    seeds = tuple(_seed_value(s) for s in rows["seed"])
    if len(set(seeds)) != len(seeds):
        return (), (), 0
    sizes = pd.to_numeric(rows.get("n_test", pd.Series(dtype=float)), errors="coerce").dropna()
    n_test = int(sizes.min()) if len(sizes) == len(rows) and len(sizes) else 0
    return seeds, tuple(float(v) for v in rows["value"]), n_test


def _same_as(t: Tables, scheme: str) -> str:
    eq = t.tables.get("scheme_equivalence")
    if eq is None:
        return scheme
    rows = eq[(eq["scheme"].astype(str) == scheme)]
    if "arch" in eq.columns and t.arch is not None:
        rows = rows[rows["arch"].astype(str) == str(t.arch)]
    return str(rows["same_as"].iloc[0]) if len(rows) else scheme


def _scheme_arms(t: Tables, schemes: Sequence[str]) -> tuple[list[str], list[str]]:
    arms: dict[str, list[str]] = {}
    for s in schemes:
        arms.setdefault(t.same_as(s), []).append(s)
    reps, notes = [], []
    for rep, members in arms.items():
        first = rep if rep in members else members[0]
        reps.append(first)
        others = [m for m in members if m != first]
        if others:
            notes.append(t.equivalence_note(first, others))
    return reps, notes


def _select(df: pd.DataFrame, match: dict, name: str) -> pd.DataFrame:
    rows = df
    for key, value in match.items():
        if key not in rows.columns:
            raise NotMeasured(f"table {name} has no column {key!r}")
        rows = rows[rows[key].astype(str) == str(value)]
    return rows


def _seed_value(seed):
    """A seed as read from a CSV (3.0 -> 3), so that two tables' seeds pair."""
    if isinstance(seed, (float, np.floating)) and float(seed).is_integer():
        return int(seed)
    if isinstance(seed, np.integer):
        return int(seed)
    return seed


def _seeds_text(value) -> str:
    """The ``unconverged_seeds`` cell as written: a CSV reader turns a lone seed "3" into 3.0."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
