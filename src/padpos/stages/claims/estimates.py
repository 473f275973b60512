"""The scorecard's statistics: an :class:`Estimate` (value, 95 % interval, n, method) of
one or more :class:`Group` rows, with the interval over seeds (t, paired t, Welch or a
parametric bootstrap) and the test-set noise of an accuracy; the API is described in
:mod:`padpos.stages.claims.scorecard`, which re-exports every name."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from padpos.stages.claims.inputs import Group, NotPaired

BOOTSTRAP_DRAWS = 20_000
BOOTSTRAP_SEED = 0


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
    return with_binomial_of(est, [a], [b])


def with_binomial_of(est: Estimate, plus: Sequence[Group], minus: Sequence[Group]) -> Estimate:
    """``est``, a statistic adding the accuracies of ``plus`` and subtracting those of
    ``minus``, with its interval widened by each group's binomial noise (Wilson margins
    in quadrature): the statistic is low when ``plus`` is low and ``minus`` high."""
    plus_m, minus_m = [binomial_margins(g) for g in plus], [binomial_margins(g) for g in minus]
    below = [lo for lo, _ in plus_m] + [hi for _, hi in minus_m]
    above = [hi for _, hi in plus_m] + [lo for lo, _ in minus_m]
    return _with_binomial(est, below, above)


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
