"""The replication scorecard: every claim of the four papers as data, decided by a rule
fixed here, in code, before any study's numbers are seen (docs/protocols.md section 8).

A claim reads rows of the study's summary tables (mean, std, n, ci95, n_failed,
n_unconverged over seeds), computes one statistic with its 95 % interval over seeds,
and compares the interval with a threshold in a stated direction:

- ``supported``: the whole interval is on the claimed side of the threshold;
- ``contradicted``: the whole interval is on the other side;
- ``inconclusive``: the interval straddles the threshold, or fewer than two runs give
  it, or a precondition failed (a run it reads was flagged failed or had not
  converged: "undertrained", naming the runs), or the study did not measure it;
- ``by construction``: the statistic holds whatever the data, by an exact invariance
  or a definition (shown as a sanity check, not counted as evidence).

Intervals: Student's t for one mean; Welch's t for a difference of two means (the two
groups are treated as independent: conservative where they share seeds); for other
functions of several means a parametric bootstrap that draws each mean from its own
t distribution (mean, std / sqrt(n), n - 1 degrees of freedom), seeded. Everything
here is pandas / numpy / scipy: no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

VERDICTS: tuple[str, ...] = ("supported", "contradicted", "inconclusive", "by construction")
BOOTSTRAP_DRAWS = 20_000
BOOTSTRAP_SEED = 0
# a border-distance effect cannot be resolved with smaller gaps (docs/protocols.md 8)
MIN_BORDER_GAP_PX = 8


class NotMeasured(LookupError):
    """The study has no table or no row for what a claim reads."""


# ---------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Group:
    """One row of a summary table: a mean over seeds and what stands behind it."""

    label: str
    mean: float
    std: float
    n: int
    n_failed: int = 0
    n_unconverged: int = 0
    unconverged_seeds: str = ""

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
        return f"{self.label} (n={self.n})"


class Tables:
    """The study's summary tables by name, with row lookup by column values."""

    def __init__(self, tables: dict[str, pd.DataFrame], arch: str | None = None,
                 padding_free_arch: str | None = None, settings: dict | None = None):  # fmt: skip
        self.tables = dict(tables)
        self.arch = arch
        self.padding_free_arch = padding_free_arch
        self.settings = dict(settings or {})  # study settings a claim needs (e.g. the canvas grid)

    def table(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            raise NotMeasured(f"this study builds no {name} table")
        return self.tables[name]

    def group(self, name: str, prefix: str = "", mean: str = "mean", **match) -> Group:
        """The one row of table ``name`` whose columns equal ``match`` (values compared as
        text, so that 0 matches a CSV's 0); ``prefix`` for tables whose statistics are
        ``<prefix>_mean`` etc., ``mean`` for one whose mean column has another name. A
        table with an ``arch`` column is read at the study's main arch, or at its
        padding-free arch for padding ``valid``."""
        df = self.table(name)
        if "arch" in df.columns and "arch" not in match:
            arch = self.padding_free_arch if match.get("padding") == "valid" else self.arch
            if arch is not None:
                match = {"arch": arch, **match}
        rows = df
        for key, value in match.items():
            if key not in rows.columns:
                raise NotMeasured(f"table {name} has no column {key!r}")
            rows = rows[rows[key].astype(str) == str(value)]
        label = f"{name}[" + ", ".join(f"{v}" for k, v in match.items() if k != "arch") + "]"
        if len(rows) == 0:
            raise NotMeasured(f"{label} is not in this study")
        if len(rows) > 1:
            raise ValueError(f"{label} matches {len(rows)} rows; the claim must name one")
        row = rows.iloc[0]
        col = (lambda c: f"{prefix}_{c}") if prefix else (lambda c: c)
        unconverged = row.get("unconverged_seeds", "")
        return Group(
            label=label,
            mean=float(row[col(mean)]),
            std=float(row[col("std")]) if pd.notna(row[col("std")]) else math.nan,
            n=int(row["n"]),
            n_failed=int(row.get("n_failed", 0) or 0),
            n_unconverged=int(row.get("n_unconverged", 0) or 0) if pd.notna(row.get("n_unconverged", 0)) else 0,
            unconverged_seeds=_seeds_text(unconverged),
        )

    def values(self, name: str, column: str, **match) -> list:
        """The distinct values of ``column`` in the rows of ``name`` matching ``match``."""
        df = self.table(name)
        for key, value in match.items():
            df = df[df[key].astype(str) == str(value)]
        return list(dict.fromkeys(df[column]))


def _seeds_text(value) -> str:
    """The ``unconverged_seeds`` cell as written: a CSV reader turns a lone seed "3" into 3.0."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------- estimates
@dataclass
class Estimate:
    """A claim's statistic: its value, 95 % interval, the smallest n behind it, the method,
    the rows it read and the preconditions they fail."""

    value: float
    low: float
    high: float
    n: int
    method: str
    groups: list[Group] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [p for g in self.groups for p in g.problems()]


def _t(n: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, n - 1))


def mean_of(g: Group) -> Estimate:
    """One mean with its t interval over seeds."""
    if g.n < 2 or not math.isfinite(g.std) or not math.isfinite(g.mean):
        return Estimate(g.mean, math.nan, math.nan, g.n, "t", [g])
    half = _t(g.n) * g.std / math.sqrt(g.n)
    return Estimate(g.mean, g.mean - half, g.mean + half, g.n, "t", [g])


def difference(a: Group, b: Group) -> Estimate:
    """``a - b`` with Welch's t interval (unequal variances, Welch-Satterthwaite dof)."""
    value = a.mean - b.mean
    n = min(a.n, b.n)
    if n < 2 or not all(map(math.isfinite, (a.std, b.std, value))):
        return Estimate(value, math.nan, math.nan, n, "Welch t", [a, b])
    va, vb = a.std**2 / a.n, b.std**2 / b.n
    se = math.sqrt(va + vb)
    if se == 0:
        return Estimate(value, value, value, n, "Welch t", [a, b])
    from scipy import stats

    dof = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1)) if va + vb > 0 else min(a.n, b.n) - 1
    half = float(stats.t.ppf(0.975, dof)) * se
    return Estimate(value, value - half, value + half, n, "Welch t", [a, b])


def bootstrap(fn: Callable[..., np.ndarray], groups: Sequence[Group], method: str = "parametric bootstrap") -> Estimate:
    """``fn(*means)`` at the observed means, and its 2.5 / 97.5 % percentiles when every
    mean is drawn from its own t distribution (mean + std / sqrt(n) * T(n - 1)); a
    non-finite draw (e.g. a ratio over a zero) is left out."""
    groups = list(groups)
    value = float(fn(*[np.array(g.mean) for g in groups]))
    n = min(g.n for g in groups)
    if n < 2 or not all(math.isfinite(g.std) and math.isfinite(g.mean) for g in groups):
        return Estimate(value, math.nan, math.nan, n, method, groups)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = [g.mean + g.std / math.sqrt(g.n) * rng.standard_t(g.n - 1, BOOTSTRAP_DRAWS) for g in groups]
    stat = np.asarray(fn(*draws), dtype=float)
    stat = stat[np.isfinite(stat)]
    if len(stat) < BOOTSTRAP_DRAWS // 2:
        return Estimate(value, math.nan, math.nan, n, method, groups)
    low, high = np.percentile(stat, [2.5, 97.5])
    return Estimate(value, float(low), float(high), n, method, groups)


# ---------------------------------------------------------------- rules and verdicts
@dataclass(frozen=True)
class Rule:
    """The decision rule: the statistic is claimed ``greater`` than, ``less`` than, or
    ``within`` +-threshold (an equality up to a tolerance)."""

    direction: str
    threshold: float
    unit: str = ""

    def __post_init__(self):
        if self.direction not in ("greater", "less", "within"):
            raise ValueError(f"unknown rule direction {self.direction!r}")

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.direction == "within":
            # no "|x|": a pipe would split the cell of the Markdown table (claims.md)
            return f"-{self.threshold:g} < x < {self.threshold:g}{unit}"
        return f"x {'>' if self.direction == 'greater' else '<'} {self.threshold:g}{unit}"

    def decide(self, low: float, high: float) -> tuple[str, str]:
        """(verdict, reason) from the interval [low, high]."""
        t = self.threshold
        if self.direction == "greater":
            if low > t:
                return "supported", f"95 % interval above {t:g}"
            if high < t:
                return "contradicted", f"95 % interval below {t:g}"
        elif self.direction == "less":
            if high < t:
                return "supported", f"95 % interval below {t:g}"
            if low > t:
                return "contradicted", f"95 % interval above {t:g}"
        else:
            if -t < low and high < t:
                return "supported", f"95 % interval within +-{t:g}"
            if low >= t or high <= -t:
                return "contradicted", f"95 % interval outside +-{t:g}"
        return "inconclusive", f"95 % interval [{low:.3g}, {high:.3g}] straddles the threshold"


@dataclass(frozen=True)
class Claim:
    """One claim of one paper: what it says (own words), what it reads and computes, the
    rule that decides it, the paper's own value where public, and, when the statistic
    holds by construction, why."""

    id: str
    paper: str
    claim: str
    tables: tuple[str, ...]
    statistic: str
    rule: Rule
    estimate: Callable[[Tables], Estimate]
    paper_value: str = ""
    by_construction: str = ""
    precondition: Callable[[Tables], str] | None = None  # "" when it holds, else why not


def decide(claim: Claim, tables: Tables) -> dict:
    """One scorecard row: the claim, its statistic and interval, verdict and reason."""
    row = {
        "id": claim.id, "paper": claim.paper, "claim": claim.claim, "statistic": claim.statistic,
        "value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0, "method": "",
        "rule": claim.rule.describe(), "direction": claim.rule.direction, "threshold": claim.rule.threshold,
        "paper_value": claim.paper_value, "tables": " ".join(claim.tables), "inputs": "",
    }  # fmt: skip
    try:
        est = claim.estimate(tables)
    except NotMeasured as why:
        return {**row, "verdict": "inconclusive", "reason": f"not measured: {why}"}
    row.update(value=est.value, ci_low=est.low, ci_high=est.high, n=est.n, method=est.method,
               inputs="; ".join(g.describe() for g in est.groups))  # fmt: skip
    if claim.by_construction:
        return {**row, "verdict": "by construction", "reason": claim.by_construction}
    problems = est.problems()
    if problems:
        failed = any("failed" in p or "no runs" in p for p in problems)
        kind = "failed runs" if failed else "undertrained"
        return {**row, "verdict": "inconclusive", "reason": f"{kind}: " + "; ".join(problems)}
    if claim.precondition is not None:
        why = claim.precondition(tables)
        if why:
            return {**row, "verdict": "inconclusive", "reason": why}
    if est.n < 2 or not (math.isfinite(est.low) and math.isfinite(est.high)):
        return {**row, "verdict": "inconclusive", "reason": f"n = {est.n}: no interval over seeds"}
    verdict, reason = claim.rule.decide(est.low, est.high)
    return {**row, "verdict": verdict, "reason": reason}


COLUMNS = ("id", "paper", "claim", "verdict", "reason", "statistic", "value", "ci_low", "ci_high",
           "rule", "direction", "threshold", "n", "method", "paper_value", "tables", "inputs")  # fmt: skip


def scorecard(claims: Sequence[Claim], tables: Tables) -> pd.DataFrame:
    """Every claim decided: one row each, in the claims' order."""
    rows = [decide(c, tables) for c in claims]
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    bad = set(out["verdict"]) - set(VERDICTS)
    assert not bad, bad
    return out
