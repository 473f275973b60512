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
measures another model or data set), ``not measured`` (the study has no value for the
row: its runs failed or were not run) or ``no published value``.

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

Layout: the inputs (:class:`Group`, :class:`Tables`) live in ``inputs.py``, the statistics
(:class:`Estimate` and its intervals) in ``estimates.py``; this module holds the guards, the
rules and verdicts, and re-exports both, so that ``scorecard`` is the one API to import.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import pandas as pd

from padpos.stages.claims.estimates import (
    BOOTSTRAP_DRAWS,
    BOOTSTRAP_SEED,
    Estimate,
    binomial_margins,
    bootstrap,
    difference,
    mean_of,
    per_seed,
    ratio,
    shared_seeds,
    wilson,
    with_binomial_of,
)
from padpos.stages.claims.inputs import Group, NotMeasured, NotPaired, Tables

__all__ = [  # the API (re-exported from inputs.py and estimates.py included)
    "AGREEMENTS", "BOOTSTRAP_DRAWS", "BOOTSTRAP_SEED", "COLUMNS", "Claim", "Estimate", "Group",
    "MIN_BORDER_GAP_PX", "NotMeasured", "NotPaired", "Published", "RULES_BEGIN", "RULES_END", "Rule",
    "SATURATION_CEILING", "SATURATION_MARGIN", "Saturation", "Tables", "VERDICTS", "binomial_margins",
    "bootstrap", "decide", "difference", "mean_of", "per_seed", "ratio", "replace_rules_block",
    "rules_markdown", "scorecard", "shared_seeds", "wilson", "with_binomial_of",
]  # fmt: skip

VERDICTS: tuple[str, ...] = ("supported", "contradicted", "inconclusive", "by construction")
AGREEMENTS: tuple[str, ...] = ("agrees", "differs", "too wide", "not comparable", "not measured", "no published value")
# a border-distance effect cannot be resolved with smaller gaps (docs/protocols.md 8)
MIN_BORDER_GAP_PX = 8
# the saturation guard's defaults (docs/protocols.md 8): an accuracy arm at or above the
# ceiling, or within the margin of chance, has no room left to show a graded difference
SATURATION_CEILING = 98.0
SATURATION_MARGIN = 2.0


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

    def agreement(self, value: float, low: float, high: float, tables: "Tables | None" = None,
                  rule: "Rule | None" = None) -> tuple[str, str]:  # fmt: skip
        """(agreement, why): the paper's value outside the study's 95 % interval widened by
        the tolerance on each side differs; within it, agrees, unless the interval is too
        wide to decide the claim's ``rule`` (it spans the rule's threshold): an interval
        that holds both the paper's conclusion and its negation agrees with any value."""
        why_not = self.why_not_comparable(tables)
        if why_not:
            return "not comparable", why_not
        if not (value is not None and math.isfinite(value)):
            return "not measured", "the study has no value for this row"
        tol = self.tolerance()
        lo, hi = (low, high) if math.isfinite(low) and math.isfinite(high) else (value, value)
        where = f"[{lo:.3g}, {hi:.3g}] +- {tol:g}"
        if not lo - tol <= self.value <= hi + tol:
            return "differs", f"paper {self.value:g} outside {where}"
        if rule is not None and rule.decide(lo, hi)[0] == "inconclusive":
            return "too wide", f"paper {self.value:g} within {where}, an interval that spans the rule ({rule.describe()})"
        return "agrees", f"paper {self.value:g} within {where}"


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
        where = "touches" if t in (low, high) or (self.direction == "within" and -t in (low, high)) else "straddles"
        return "inconclusive", f"95 % interval [{low:.3g}, {high:.3g}] {where} the threshold"


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
    agreement, why = p.agreement(value, low, high, tables, claim.rule)
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
