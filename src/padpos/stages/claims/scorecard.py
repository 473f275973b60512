"""The replication scorecard: every claim of the four papers as data, decided by a rule
fixed here, in code, before any study's numbers are seen (docs/protocols.md section 8).

A claim reads rows of the study's summary tables (mean, std, n, ... over seeds) and the
runs behind them (per-run values), computes one statistic with its 95 % interval, and
compares the interval with a threshold in a stated direction:

- ``supported``: the whole interval is on the claimed side of the threshold;
- ``contradicted``: the whole interval is on the other side;
- ``inconclusive``: the interval straddles the threshold, or fewer than two runs give
  it, or a precondition failed (a run it reads was flagged failed or had not
  converged: "undertrained", naming the runs), or its arms sit at the same ceiling or
  floor of their task ("inconclusive (saturated)", naming the arms), or the study did
  not measure it;
- ``by construction``: the statistic holds whatever the data, by an exact invariance
  or a definition (shown as a sanity check, not counted as evidence).

Separately from the verdict, every row with a published number states its agreement
with it (:class:`Published`): ``agrees``, ``differs``, ``not comparable`` (the study
measures another model or data set) or ``no published value``.

Usage (the API the claim definitions, and any stage adding rows, use)
--------------------------------------------------------------------
Reading the study::

    g = t.group("fconv_redgreen", prefix="accuracy", padding="zeros", test_set="similar")
    g.mean, g.std, g.n            # the summary row
    g.seeds, g.values             # the runs behind it (failed runs left out, as in the mean)
    g.by_seed()                   # {seed: value}
    g.n_test                      # test images behind one run's accuracy (0: unknown / not an accuracy)
    t.runs("canvas_location", padding="zeros", ring="corner")   # the per-run rows themselves
    Group.from_runs("label", [99.0, 100.0, 98.4], seeds=[1, 2, 3], n_test=64)   # synthetic / derived

Per-run values come from rebuilding each table from its per-run files with
:func:`padpos.stats.recording_runs` active (``build.build_scorecard``): whatever a
table builder passes to :func:`padpos.stats.summarize` is what a group's runs are. A
builder that wants the binomial guard keeps an ``n_test`` column (test images behind
the run's accuracy, summed over the cells it averages) in the frame it summarises.

Statistics, each an :class:`Estimate` (value, 95 % interval, n, method, groups, notes)::

    mean_of(g)                    # one mean: t over seeds (+ binomial noise, below)
    difference(a, b)              # a - b: PAIRED t on per-seed differences when a and b
                                  # share their seeds, else Welch (paired=True forces,
                                  # raising NotPaired; paired=False: Welch)
    ratio(a, b)                   # b / a: paired t on per-seed log ratios (geometric mean
                                  # ratio) when paired, else the parametric bootstrap
    per_seed(fn, groups)          # any statistic computed seed by seed (fn takes one
                                  # array of per-seed values per group), t over seeds
    bootstrap(fn, groups)         # unpaired: each mean drawn from its own t distribution
    shared_seeds(groups)          # the seeds every group has (None: not a paired design)

Test-set noise: where a group has ``n_test`` (its value is an accuracy in % on that
many test images), :func:`mean_of` and :func:`difference` widen the interval by the
binomial (Wilson) interval of the mean accuracy on ``n_test`` images, combined in
quadrature with the interval over seeds (Newcombe's hybrid for a difference): a
100 % cell on 64 images reads about [94.3, 100], not [100, 100].

Saturation: a :class:`Claim` with ``saturation=Saturation(chance=50.0)`` reads
``inconclusive (saturated)`` when all the arms of its contrast (the estimate's groups)
have means >= ``ceiling`` (98 %), or all lie within ``margin`` (2 points) of
``chance`` (a number, or a function of the :class:`Tables` such as the canvas grid's
100 / k^2). Only contrasts of accuracy arms whose claimed effect is a graded advantage
carry it; a row about opposite extremes or about one arm against a threshold does not.

Published values: ``published=Published(value, source, sd=..., floor=...)`` gives the
row ``paper_value``, ``paper_sd``, ``paper_tolerance`` and ``paper_agreement``; agrees
when the paper's value lies within the study's 95 % interval widened by the tolerance
``max(sd, floor)`` on each side. ``Published(..., comparable="why not")`` marks a
number the study cannot be compared with (another model or data set).

Schemes computing the same function (``scheme_equivalence`` table, built by ``padpos
scheme-equivalence`` from the model registry): ``t.scheme_arms(schemes)`` returns one
representative per distinct function with the note naming the schemes it stands for;
a :class:`Claim` with ``scheme=`` is dropped from the scorecard when its scheme is not
its arm's representative, and the representative's row says so (``note``).

Intervals: Student's t for one mean or for per-seed differences; Welch's t for a
difference of two independent means; for other functions of independent means a
parametric bootstrap that draws each mean from its own t distribution, seeded.
Everything here is pandas / numpy / scipy: no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

VERDICTS: tuple[str, ...] = ("supported", "contradicted", "inconclusive", "by construction")
AGREEMENTS: tuple[str, ...] = ("agrees", "differs", "not comparable", "no published value")
BOOTSTRAP_DRAWS = 20_000
BOOTSTRAP_SEED = 0
# a border-distance effect cannot be resolved with smaller gaps (docs/protocols.md 8)
MIN_BORDER_GAP_PX = 8
# the saturation guard's defaults (docs/protocols.md 8): an accuracy arm at or above the
# ceiling, or within the margin of chance, has no room left to show a graded difference
SATURATION_CEILING = 98.0
SATURATION_MARGIN = 2.0


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
        col = (lambda c: f"{prefix}_{c}") if prefix else (lambda c: c)
        unconverged = row.get("unconverged_seeds", "")
        n = int(row["n"])
        seeds, values, n_test = self._run_values(name, prefix, match, n)
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

    def runs(self, name: str, prefix: str = "", **match) -> pd.DataFrame:
        """The per-run rows (``value``, ``seed``, ``failed``, ``converged``, ``n_test`` and
        the summary's keys) behind the rows of table ``name`` matching ``match``; failed
        runs included (column ``failed``). NotMeasured when the runs were not read."""
        if name not in self.run_tables:
            raise NotMeasured(f"the runs of table {name} were not read")
        df = self.run_tables[name]
        df = df[df["prefix"].fillna("").astype(str) == prefix] if "prefix" in df.columns else df
        return _select(df, self._with_arch(df, match), name).reset_index(drop=True)

    def _run_values(self, name: str, prefix: str, match: dict, n: int) -> tuple[tuple, tuple, int]:
        if name not in self.run_tables:
            return (), (), 0
        df = self.run_tables[name]
        if any(key not in df.columns for key in match):
            return (), (), 0
        rows = self.runs(name, prefix, **match)
        rows = rows[~rows["failed"].astype(bool)] if "failed" in rows.columns else rows
        if len(rows) != n or "seed" not in rows.columns:
            return (), (), 0  # not the runs of this one row (another grouping): do not guess
        seeds = tuple(_seed_value(s) for s in rows["seed"])
        if len(set(seeds)) != len(seeds):
            return (), (), 0
        sizes = pd.to_numeric(rows.get("n_test", pd.Series(dtype=float)), errors="coerce").dropna()
        n_test = int(sizes.min()) if len(sizes) == len(rows) and len(sizes) else 0
        return seeds, tuple(float(v) for v in rows["value"]), n_test

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
        eq = self.tables.get("scheme_equivalence")
        if eq is None:
            return scheme
        rows = eq[(eq["scheme"].astype(str) == scheme)]
        if "arch" in eq.columns and self.arch is not None:
            rows = rows[rows["arch"].astype(str) == str(self.arch)]
        return str(rows["same_as"].iloc[0]) if len(rows) else scheme

    def scheme_arms(self, schemes: Sequence[str]) -> tuple[list[str], list[str]]:
        """One representative per distinct function among ``schemes`` (in their order), and
        one note per merged arm ("symmetric = replicate on small_resnet: one arm")."""
        arms: dict[str, list[str]] = {}
        for s in schemes:
            arms.setdefault(self.same_as(s), []).append(s)
        reps, notes = [], []
        for rep, members in arms.items():
            first = rep if rep in members else members[0]
            reps.append(first)
            others = [m for m in members if m != first]
            if others:
                notes.append(self.equivalence_note(first, others))
        return reps, notes

    def equivalence_note(self, scheme: str, others: Sequence[str]) -> str:
        return (f"{' = '.join([*others, scheme])} compute the same function on {self.arch} "
                f"(scheme_equivalence): one arm, {scheme}")  # fmt: skip


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


# ---------------------------------------------------------------- estimates
@dataclass
class Estimate:
    """A claim's statistic: its value, 95 % interval, the smallest n behind it, the method,
    the rows it read, and notes for the row (e.g. schemes merged into one arm)."""

    value: float
    low: float
    high: float
    n: int
    method: str
    groups: list[Group] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return [p for g in self.groups for p in g.problems()]


def _t(n: int) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.975, n - 1))


def wilson(k: float, n: int) -> tuple[float, float]:
    """Wilson's 95 % score interval of a proportion k / n (k may be fractional: a mean
    accuracy times the test images)."""
    from scipy import stats

    z = float(stats.norm.ppf(0.975))
    p = min(max(k / n, 0.0), 1.0)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_margins(g: Group) -> tuple[float, float]:
    """How far below and above the group's mean accuracy (%) Wilson's interval on
    ``n_test`` test images reaches (0, 0 when ``n_test`` is unknown)."""
    if not g.n_test or not math.isfinite(g.mean):
        return 0.0, 0.0
    low, high = wilson(g.mean / 100.0 * g.n_test, g.n_test)
    return max(0.0, g.mean - 100.0 * low), max(0.0, 100.0 * high - g.mean)


def _with_binomial(est: Estimate, below: Sequence[float], above: Sequence[float]) -> Estimate:
    """``est`` with its interval widened, in quadrature, by the binomial margins."""
    if not any(below) and not any(above):
        return est
    lo_seed = est.value - est.low if math.isfinite(est.low) else 0.0
    hi_seed = est.high - est.value if math.isfinite(est.high) else 0.0
    low = est.value - math.sqrt(lo_seed**2 + sum(b * b for b in below))
    high = est.value + math.sqrt(hi_seed**2 + sum(a * a for a in above))
    if not (math.isfinite(est.low) and math.isfinite(est.high)):
        low, high = math.nan, math.nan  # no interval over seeds: the binomial part alone is not one
    return Estimate(est.value, low, high, est.n, est.method + " + binomial (Wilson)", est.groups, est.notes)


def mean_of(g: Group) -> Estimate:
    """One mean with its t interval over seeds, widened by the binomial noise of an
    accuracy on ``g.n_test`` test images."""
    if g.n < 2 or not math.isfinite(g.std) or not math.isfinite(g.mean):
        return Estimate(g.mean, math.nan, math.nan, g.n, "t", [g])
    half = _t(g.n) * g.std / math.sqrt(g.n)
    below, above = binomial_margins(g)
    return _with_binomial(Estimate(g.mean, g.mean - half, g.mean + half, g.n, "t", [g]), [below], [above])


def shared_seeds(groups: Sequence[Group]) -> list | None:
    """The seeds of a paired design: every group has per-run values and the same set of
    seeds (in the first group's order); None otherwise."""
    groups = list(groups)
    if not groups or any(not g.values for g in groups):
        return None
    seeds = list(groups[0].seeds)
    if any(set(g.seeds) != set(seeds) for g in groups[1:]):
        return None
    return seeds


def per_seed(fn: Callable[..., np.ndarray], groups: Sequence[Group], method: str = "paired t over seeds",
             value_fn: Callable[[np.ndarray], float] | None = None) -> Estimate:  # fmt: skip
    """A statistic computed seed by seed: ``fn(*arrays)`` with one array of per-seed
    values per group (aligned on the shared seeds) gives one number per seed; the value
    is their mean and the interval Student's t over seeds. ``value_fn`` maps the mean and
    the interval's ends back (e.g. ``np.exp`` for a mean log ratio). NotPaired when the
    groups do not share their seeds."""
    groups = list(groups)
    seeds = shared_seeds(groups)
    if seeds is None:
        raise NotPaired("the groups do not share their seeds: " + "; ".join(g.describe() for g in groups))
    arrays = [np.array([g.by_seed()[s] for s in seeds], dtype=float) for g in groups]
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.asarray(fn(*arrays), dtype=float)
    back = value_fn or (lambda x: x)
    n = len(seeds)
    mean = float(d.mean()) if n else math.nan
    if n < 2 or not np.all(np.isfinite(d)):
        return Estimate(float(back(mean)), math.nan, math.nan, n, method, groups)
    half = _t(n) * float(d.std(ddof=1)) / math.sqrt(n)
    return Estimate(float(back(mean)), float(back(mean - half)), float(back(mean + half)), n, method, groups)


def difference(a: Group, b: Group, paired: bool | None = None) -> Estimate:
    """``a - b``: paired t on the per-seed differences when ``a`` and ``b`` share their
    seeds (``paired=None``: whenever they do; True: required, NotPaired otherwise; False:
    never), else Welch's t (unequal variances, Welch-Satterthwaite dof). With ``n_test``
    on either group, the binomial noise of each arm's mean accuracy widens the interval
    (Newcombe's hybrid: each arm's Wilson margin, in quadrature with the seeds' part)."""
    use_paired = paired if paired is not None else shared_seeds([a, b]) is not None
    if use_paired:
        est = per_seed(lambda x, y: x - y, [a, b], "paired t")
    else:
        est = _welch(a, b)
    a_below, a_above = binomial_margins(a)
    b_below, b_above = binomial_margins(b)
    # a - b is low when a is low and b high
    return _with_binomial(est, [a_below, b_above], [a_above, b_below])


def _welch(a: Group, b: Group) -> Estimate:
    value = a.mean - b.mean
    n = min(a.n, b.n)
    if n < 2 or not all(map(math.isfinite, (a.std, b.std, value))):
        return Estimate(value, math.nan, math.nan, n, "Welch t", [a, b])
    va, vb = a.std**2 / a.n, b.std**2 / b.n
    se = math.sqrt(va + vb)
    if se == 0:
        return Estimate(value, value, value, n, "Welch t", [a, b])
    from scipy import stats

    dof = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
    half = float(stats.t.ppf(0.975, dof)) * se
    return Estimate(value, value - half, value + half, n, "Welch t", [a, b])


def ratio(a: Group, b: Group, paired: bool | None = None) -> Estimate:
    """``b / a`` (e.g. trained / initialisation): when paired, the geometric mean of the
    per-seed ratios with the t interval of the mean log ratio (exponentiated); else the
    ratio of the means with the parametric bootstrap interval."""
    use_paired = paired if paired is not None else shared_seeds([a, b]) is not None
    if use_paired:
        return per_seed(lambda x, y: np.log(y / x), [a, b], "paired t on log ratios", np.exp)
    with np.errstate(divide="ignore", invalid="ignore"):
        return bootstrap(lambda x, y: np.asarray(y) / np.asarray(x), [a, b])


def bootstrap(fn: Callable[..., np.ndarray], groups: Sequence[Group], method: str = "parametric bootstrap") -> Estimate:
    """``fn(*means)`` at the observed means, and its 2.5 / 97.5 % percentiles when every
    mean is drawn from its own t distribution (mean + std / sqrt(n) * T(n - 1)); a
    non-finite draw (e.g. a ratio over a zero) is left out. For independent groups; a
    paired design is better served by :func:`per_seed`."""
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


# ---------------------------------------------------------------- guards
@dataclass(frozen=True)
class Saturation:
    """The saturation guard of a contrast of accuracy arms (in %): saturated when every
    arm's mean is >= ``ceiling``, or every arm's mean lies within ``margin`` points of
    ``chance`` (a number, a function of the study's tables, or None: no floor check)."""

    chance: float | Callable[["Tables"], float] | None = None
    ceiling: float = SATURATION_CEILING
    margin: float = SATURATION_MARGIN

    def check(self, groups: Sequence[Group], tables: "Tables") -> str:
        """"" when the arms leave room for the contrast, else the reason naming them."""
        means = [(g.label, g.mean) for g in groups]
        if len(means) < 2 or not all(math.isfinite(m) for _, m in means):
            return ""
        arms = ", ".join(f"{label} {m:.1f} %" for label, m in means)
        if all(m >= self.ceiling for _, m in means):
            return f"saturated: every arm at the ceiling (>= {self.ceiling:g} %): {arms}"
        chance = self.chance(tables) if callable(self.chance) else self.chance
        if chance is not None and all(abs(m - chance) <= self.margin for _, m in means):
            return f"saturated: every arm within {self.margin:g} points of chance ({chance:.3g} %): {arms}"
        return ""


@dataclass(frozen=True)
class Published:
    """A paper's number for a row's statistic: ``value`` (``sd`` where published), where it
    comes from, the tolerance floor (the precision of the figure or table it was read
    from, or the floor under a zero SD), and ``comparable`` ("" when the study measures
    what the paper did, else why not: another model or data set)."""

    value: float
    source: str
    sd: float | None = None
    floor: float = 0.0
    comparable: str | Callable[["Tables"], str] = ""  # or a function of the study's tables

    def tolerance(self) -> float:
        return max(self.sd or 0.0, self.floor)

    def why_not_comparable(self, tables: "Tables | None" = None) -> str:
        if callable(self.comparable):
            return self.comparable(tables) if tables is not None else ""
        return self.comparable

    def agreement(self, value: float, low: float, high: float, tables: "Tables | None" = None) -> tuple[str, str]:
        """(agreement, why): the paper's value within the study's 95 % interval widened by
        the tolerance on each side agrees; outside it, differs."""
        why_not = self.why_not_comparable(tables)
        if why_not:
            return "not comparable", why_not
        if not (value is not None and math.isfinite(value)):
            return "not comparable", "the study has no value for this row"
        tol = self.tolerance()
        lo, hi = (low, high) if math.isfinite(low) and math.isfinite(high) else (value, value)
        if lo - tol <= self.value <= hi + tol:
            return "agrees", f"paper {self.value:g} within [{lo:.3g}, {hi:.3g}] +- {tol:g}"
        return "differs", f"paper {self.value:g} outside [{lo:.3g}, {hi:.3g}] +- {tol:g}"


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
    rule that decides it, the paper's own number where public (``published``; the text
    ``paper_value`` quotes it), its guards, and, when the statistic holds by
    construction, why. ``scheme``: the padding scheme a per-scheme row is about (rows of
    schemes computing the same function are merged into one, see :func:`scorecard`)."""

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
    saturation: Saturation | None = None
    published: Published | None = None
    scheme: str = ""


COLUMNS = ("id", "paper", "claim", "verdict", "reason", "statistic", "value", "ci_low", "ci_high",
           "rule", "direction", "threshold", "n", "method", "paper_value", "paper_sd", "paper_tolerance",
           "paper_agreement", "paper_source", "note", "tables", "inputs")  # fmt: skip


def _paper_columns(claim: Claim, tables: Tables, value: float, low: float, high: float) -> dict:
    p = claim.published
    if p is None:
        return {"paper_value": math.nan, "paper_sd": math.nan, "paper_tolerance": math.nan,
                "paper_agreement": "no published value", "paper_source": claim.paper_value}  # fmt: skip
    agreement, why = p.agreement(value, low, high, tables)
    return {"paper_value": p.value, "paper_sd": math.nan if p.sd is None else p.sd, "paper_tolerance": p.tolerance(),
            "paper_agreement": agreement,
            "paper_source": "; ".join(x for x in (claim.paper_value or p.source, why) if x)}  # fmt: skip


def decide(claim: Claim, tables: Tables) -> dict:
    """One scorecard row: the claim, its statistic and interval, verdict and reason, and
    its agreement with the published value."""
    row = {
        "id": claim.id, "paper": claim.paper, "claim": claim.claim, "statistic": claim.statistic,
        "value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0, "method": "",
        "rule": claim.rule.describe(), "direction": claim.rule.direction, "threshold": claim.rule.threshold,
        **_paper_columns(claim, tables, math.nan, math.nan, math.nan), "note": "", "tables": " ".join(claim.tables),
        "inputs": "",
    }  # fmt: skip
    try:
        est = claim.estimate(tables)
    except (NotMeasured, NotPaired) as why:
        return {**row, "verdict": "inconclusive", "reason": f"not measured: {why}"}
    row.update(value=est.value, ci_low=est.low, ci_high=est.high, n=est.n, method=est.method,
               inputs="; ".join(g.describe() for g in est.groups), note="; ".join(est.notes),
               **_paper_columns(claim, tables, est.value, est.low, est.high))  # fmt: skip
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
    if claim.saturation is not None:
        why = claim.saturation.check(est.groups, tables)
        if why:
            return {**row, "verdict": "inconclusive", "reason": why}
    if est.n < 2 or not (math.isfinite(est.low) and math.isfinite(est.high)):
        return {**row, "verdict": "inconclusive", "reason": f"n = {est.n}: no interval over seeds"}
    verdict, reason = claim.rule.decide(est.low, est.high)
    return {**row, "verdict": verdict, "reason": reason}


def _merged(claims: Sequence[Claim], tables: Tables) -> tuple[list[Claim], dict[str, list[str]]]:
    """The claims without the per-scheme rows whose scheme computes the same function as
    another row's (same id with the representative's scheme), and the notes for the
    representative rows."""
    ids = {c.id for c in claims}
    keep, notes = [], {}
    merged: dict[str, list[str]] = {}
    for c in claims:
        rep = tables.same_as(c.scheme) if c.scheme else c.scheme
        twin = c.id.replace(c.scheme, rep) if c.scheme and rep != c.scheme else None
        if twin is not None and twin in ids:
            merged.setdefault(twin, []).append(c.scheme)
            continue
        keep.append(c)
    for c in keep:
        if c.id in merged:
            notes[c.id] = [tables.equivalence_note(c.scheme, merged[c.id])]
    return keep, notes


def scorecard(claims: Sequence[Claim], tables: Tables) -> pd.DataFrame:
    """Every claim decided: one row each, in the claims' order; a per-scheme row whose
    scheme computes the same function as another row's on the study's arch is one arm
    with it (the representative's row, with a note), never a second row."""
    kept, notes = _merged(claims, tables)
    rows = []
    for c in kept:
        row = decide(c, tables)
        extra = notes.get(c.id, [])
        if extra:
            row["note"] = "; ".join([*extra, *([row["note"]] if row["note"] else [])])
        rows.append(row)
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    bad = set(out["verdict"]) - set(VERDICTS)
    assert not bad, bad
    bad = set(out["paper_agreement"]) - set(AGREEMENTS)
    assert not bad, bad
    return out


# ---------------------------------------------------------------- the rules as documentation
RULES_BEGIN = "<!-- claims-rules: generated by `python -m padpos claims-rules --update docs/protocols.md`; do not edit -->"
RULES_END = "<!-- /claims-rules -->"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def rules_markdown(claims: Sequence[Claim]) -> str:
    """The table of rules of docs/protocols.md section 8, from the claims themselves (one
    source): id, statistic, rule, guards, published value and its tolerance."""
    lines = ["| id | statistic | rule | guards | published value (tolerance) |", "|---|---|---|---|---|"]
    for c in claims:
        guards = []
        if c.by_construction:
            guards.append("by construction: " + c.by_construction)
        if c.saturation is not None:
            chance = ("chance: " + ("from the study" if callable(c.saturation.chance) else f"{c.saturation.chance:g} %")
                      if c.saturation.chance is not None else "ceiling only")  # fmt: skip
            guards.append(f"saturation (>= {c.saturation.ceiling:g} %, or within {c.saturation.margin:g} points "
                          f"of chance; {chance})")  # fmt: skip
        if c.precondition is not None:
            guards.append(f"precondition: {c.precondition.__name__.strip('_').replace('_', ' ')}")
        if c.scheme:
            guards.append("one arm per distinct function (scheme_equivalence)")
        p = c.published
        if p is None:
            paper = f"none ({c.paper_value})" if c.paper_value else "none"
        else:
            sd = f" +- {p.sd:g}" if p.sd is not None else ""
            comparable = "" if not p.comparable else (
                " - not comparable where the study differs" if callable(p.comparable) else " - not comparable")
            paper = f"{p.value:g}{sd} (tolerance {p.tolerance():g}; {p.source}){comparable}"
        lines.append("| " + " | ".join(_cell(x) for x in (c.id, c.statistic, c.rule.describe(), "; ".join(guards) or "-",
                                                            paper)) + " |")  # fmt: skip
    return "\n".join(lines) + "\n"


def replace_rules_block(text: str, table: str) -> str:
    """``text`` (docs/protocols.md) with the generated block between the markers replaced."""
    if RULES_BEGIN not in text or RULES_END not in text:
        raise ValueError("docs/protocols.md has no claims-rules block (markers missing)")
    head, rest = text.split(RULES_BEGIN, 1)
    _old, tail = rest.split(RULES_END, 1)
    return f"{head}{RULES_BEGIN}\n{table}{RULES_END}{tail}"
