"""Tables: per-run result rows -> a summary over seeds, written as .csv, .md and .tex.

Every table of the pipeline is a *table builder* registered under a name::

    @register_table("ppp")
    def ppp_final(runs: pd.DataFrame) -> pd.DataFrame: ...

``runs`` is every per-run CSV of the table concatenated (:func:`read_runs`); the
builder returns the summary, normally through :func:`summarize`. The builder
lives in the module of its stage; ``padpos table NAME --runs ... --output X.csv``
finds it by name (:func:`get_table`, which imports only that stage's module) and
writes X.csv, X.md and X.tex.

Honest spread (:func:`summarize`): every table has ``mean, std, n, ci95, n_failed``
per group. Runs flagged ``failed`` (a true boolean column of that name: the run
missed its quality floor) are left out of mean / std / ci95 by default and counted
in ``n_failed``; ``std`` and ``ci95`` are NaN for a single run, never 0.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import math
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import pandas as pd

from padpos.io import read_csv, write_csv, write_text

TableBuilder = Callable[[pd.DataFrame], pd.DataFrame]
_BUILDERS: dict[str, TableBuilder] = {}
# whether summarize() leaves failed runs out of mean / std / ci95 (set per table by build_table)
_EXCLUDE_FAILED = contextvars.ContextVar("exclude_failed", default=True)


# ---------------------------------------------------------------- registry
def register_table(name: str) -> Callable[[TableBuilder], TableBuilder]:
    """Decorator: register ``fn(runs) -> summary`` as the builder of table ``name``."""

    def decorate(fn: TableBuilder) -> TableBuilder:
        if name in _BUILDERS and _BUILDERS[name] is not fn:
            raise ValueError(f"table {name!r} is registered twice ({_BUILDERS[name].__module__}, {fn.__module__})")
        _BUILDERS[name] = fn
        return fn

    return decorate


def table_names() -> list[str]:
    """Every registered table name (found in the package source; imports nothing)."""
    from padpos.codedeps import registered_tables

    return sorted(registered_tables(Path(__file__).parent))


def get_table(name: str) -> TableBuilder:
    """The builder of table ``name``: imports the one module that registers it."""
    if name not in _BUILDERS:
        from padpos.codedeps import registered_tables

        homes = registered_tables(Path(__file__).parent)
        if name not in homes:
            raise KeyError(f"unknown table {name!r}; registered tables: {', '.join(sorted(homes)) or 'none'}")
        importlib.import_module(homes[name])
        if name not in _BUILDERS:
            raise KeyError(f"module {homes[name]} did not register table {name!r}")
    return _BUILDERS[name]


@contextlib.contextmanager
def failed_runs_excluded(exclude: bool) -> Iterator[None]:
    """Within the block, :func:`summarize` excludes failed runs by default iff ``exclude``."""
    token = _EXCLUDE_FAILED.set(bool(exclude))
    try:
        yield
    finally:
        _EXCLUDE_FAILED.reset(token)


def build_table(name: str, runs: pd.DataFrame, exclude_failed: bool = True) -> pd.DataFrame:
    """Table ``name`` from the concatenated per-run rows ``runs``."""
    builder = get_table(name)
    with failed_runs_excluded(exclude_failed):
        return builder(runs)


# ---------------------------------------------------------------- reading and writing
def read_runs(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Concatenate per-run CSV files; a missing, empty or truncated file is an error naming it.

    A ``.tsv`` file is a Snakemake benchmark (one job's wall time ``s``, ``max_rss`` in MB,
    ``cpu_time``, ...; ``-`` where unmeasured): it gets a ``rule`` column, the name of
    its folder (``results/<study>/benchmarks/<rule>/<job>.tsv``)."""
    frames = []
    for p in map(Path, paths):
        if p.suffix == ".tsv":
            df = read_csv(p, "benchmark", sep="\t", na_values=["-", "NA"])
            df.insert(0, "rule", p.parent.name)
        else:
            df = read_csv(p, "per-run result")
        frames.append(df)
    if not frames:
        raise ValueError("no per-run result files given")
    return pd.concat(frames, ignore_index=True)


def write_table(df: pd.DataFrame, csv_path: str | Path, float_format: str = "%.4g") -> None:
    """Write ``df`` as CSV at ``csv_path`` and as Markdown / LaTeX siblings (.md, .tex);
    NaN (no spread for one run) is an empty cell in every format."""
    csv_path = Path(csv_path)
    write_csv(csv_path, df)
    write_text(
        csv_path.with_suffix(".md"),
        df.astype(object).where(df.notna(), None).to_markdown(index=False, floatfmt=".4g", missingval="")
        + "\n",
    )
    write_text(
        csv_path.with_suffix(".tex"),
        df.to_latex(index=False, float_format=lambda v: float_format % v, na_rep=""),
    )


# ---------------------------------------------------------------- honest spread
def _t_two_sided_mass(t: float, dof: int) -> float:
    """P(|T| < t) for Student's t with an integer number of degrees of freedom
    (Abramowitz & Stegun 26.7.3 / 26.7.4: exact finite sums in theta = atan(t / sqrt(dof)))."""
    theta = math.atan(t / math.sqrt(dof))
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    if dof % 2 == 0:
        term, total = 1.0, 1.0
        for k in range(2, dof, 2):  # 1 + c2/2 + 1*3 c2^2/(2*4) + ...
            term *= c2 * (k - 1) / k
            total += term
        return s * total
    if dof == 1:
        return 2.0 * theta / math.pi
    term, total = 1.0, 1.0
    for k in range(3, dof, 2):  # 1 + 2 c2/3 + 2*4 c2^2/(3*5) + ...
        term *= c2 * (k - 1) / k
        total += term
    return 2.0 / math.pi * (theta + s * math.cos(theta) * total)


def t_quantile(p: float, dof: int) -> float:
    """The ``p`` quantile (0.5 <= p < 1) of Student's t with ``dof`` >= 1 (integer)
    degrees of freedom, to double precision (bisection on the exact distribution)."""
    if dof < 1 or int(dof) != dof:
        raise ValueError(f"degrees of freedom must be a positive integer, got {dof}")
    if not 0.5 <= p < 1:
        raise ValueError(f"quantile level must be in [0.5, 1), got {p}")
    mass = 2.0 * p - 1.0  # P(|T| < t) at the quantile
    lo, hi = 0.0, 1.0
    while _t_two_sided_mass(hi, int(dof)) < mass:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _t_two_sided_mass(mid, int(dof)) < mass:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return 0.5 * (lo + hi)


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
    col = df["failed"]
    if col.dtype == object:  # e.g. read back from CSV with empty cells
        col = col.map(lambda v: str(v).strip().lower() in ("true", "1"))
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
    (default: the table's setting, see :func:`build_table`; True outside one). A group
    whose every run failed keeps its row, with n = 0 and NaN statistics. With ``prefix``,
    the columns are ``<prefix>_mean``, ``<prefix>_std``, ``n``, ``<prefix>_ci95``, ``n_failed``.
    """
    by = list(by)
    missing = [c for c in [*by, values] if c not in df.columns]
    if missing:
        raise ValueError(f"cannot summarize: no column(s) {missing} in {list(df.columns)}")
    if exclude_failed is None:
        exclude_failed = _EXCLUDE_FAILED.get()
    failed = failed_mask(df)
    work = df[by].copy()
    work["_value"] = df[values].where(~failed) if exclude_failed else df[values]
    work["_failed"] = failed.astype(int)
    g = work.groupby(by, sort=False, dropna=False)
    out = g["_value"].agg(mean="mean", std="std", n="count").reset_index()
    out["n_failed"] = g["_failed"].sum().to_numpy()
    out.loc[out["n"] < 2, "std"] = math.nan
    out["ci95"] = [ci95_halfwidth(s, int(n)) for s, n in zip(out["std"], out["n"])]
    out = out[[*by, "mean", "std", "n", "ci95", "n_failed"]]
    if prefix:
        out = out.rename(columns={k: f"{prefix}_{k}" for k in ("mean", "std", "ci95")})
    return out


# ---------------------------------------------------------------- training table
@register_table("training")
def training_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Final held-out accuracy (%) per arch x padding over seeds (each run's last epoch)."""
    last = metrics.loc[metrics.groupby(["arch", "padding", "seed"])["epoch"].idxmax()]
    out = summarize(last, ["arch", "padding"], "test_acc", prefix="test_acc")
    out["epochs"] = last.groupby(["arch", "padding"], sort=False)["epoch"].max().values
    return out


# ---------------------------------------------------------------- PPP (Lin et al. 2023)
def _ppp_summary(runs: pd.DataFrame, by_epoch: bool) -> pd.DataFrame:
    """Each PPP metric per (arch,) padding x (epoch x) layer over seeds; ``arch`` comes first
    only when the study has several. Rows: paddings and layers in order of appearance
    (config order, shallow to deep), epochs ascending, metrics in ``metrics.ppp.METRICS`` order."""
    from padpos.metrics.ppp import METRICS

    missing = {"arch", "padding", "seed", "epoch", "layer", "metric", "value"} - set(runs)
    if missing:
        raise ValueError(f"PPP results lack the column(s) {sorted(missing)}")
    runs = runs[runs["metric"].isin(METRICS)].copy()
    if not by_epoch:
        last = runs.groupby(["arch", "padding", "seed"])["epoch"].transform("max")
        runs = runs[runs["epoch"] == last]
    keys = ["arch"] if runs["arch"].nunique() > 1 else []
    keys += ["padding", "epoch", "layer", "metric"] if by_epoch else ["padding", "layer", "metric"]
    rank = {key: {v: i for i, v in enumerate(dict.fromkeys(runs[key]))} for key in keys}
    rank["metric"] = {m: i for i, m in enumerate(METRICS)}
    runs = runs.sort_values(
        keys, key=lambda col: col if col.name == "epoch" else col.map(rank[col.name]), kind="stable"
    )
    return summarize(runs, keys, "value")


@register_table("ppp")
def ppp_table(runs: pd.DataFrame) -> pd.DataFrame:
    """PPP metrics of each run's final epoch per padding x layer over seeds."""
    return _ppp_summary(runs, by_epoch=False)


@register_table("ppp_formation")
def ppp_formation_table(runs: pd.DataFrame) -> pd.DataFrame:
    """PPP metrics per padding x epoch x layer over seeds (formation during training)."""
    return _ppp_summary(runs, by_epoch=True)


# ---------------------------------------------------------------- PosENet (Islam et al. 2020)
def _posenet_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """SPC / MAE per (arch,) padding-or-readout_padding x target x input x metric over seeds;
    ``arch`` comes first only when the runs hold several. Rows: archs and paddings in order of
    appearance (config order), then metric, input, target in ``metrics.posenet`` order."""
    from padpos.metrics.posenet import INPUTS, METRICS, TARGETS

    scheme = "readout_padding" if "readout_padding" in runs.columns else "padding"
    by = (["arch"] if "arch" in runs.columns and runs["arch"].nunique() > 1 else []) + [
        scheme,
        "target",
        "input",
        "metric",
    ]
    out = summarize(runs, by, "value")
    orders = {c: list(dict.fromkeys(out[c])) for c in by if c not in ("target", "input", "metric")}
    orders.update(target=list(TARGETS), input=list(INPUTS), metric=list(METRICS))
    sort_keys = [c for c in by if c not in ("target", "input", "metric")] + ["metric", "input", "target"]
    out = out.sort_values(sort_keys, key=lambda col: col.map({v: i for i, v in enumerate(orders[col.name])}))
    return out.reset_index(drop=True)


@register_table("posenet")
def posenet_table(runs: pd.DataFrame) -> pd.DataFrame:
    """PosENet readout of every trained backbone, per padding x target x input x metric."""
    return _posenet_summary(runs)


@register_table("posenet_alone")
def posenet_alone_table(runs: pd.DataFrame) -> pd.DataFrame:
    """PosENet alone on raw RGB, per readout padding x target x input x metric."""
    return _posenet_summary(runs)


# ---------------------------------------------------------------- F-Conv (Kayhan & van Gemert 2020)
@register_table("fconv_redgreen")
def redgreen_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Red-Green accuracy (%) per conv type (``padding``) x test set over seeds."""
    return summarize(runs, ["padding", "test_set"], "accuracy", prefix="accuracy")


@register_table("fconv_location")
def location_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Location-test accuracy (%) per padding x init x border over seeds."""
    out = summarize(runs, ["padding", "init", "border"], "accuracy", prefix="accuracy")
    return out.sort_values(["padding", "init", "border"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- boundary effects (Islam et al. 2021)
def _order(out: pd.DataFrame, keys: list[str], orders: dict[str, list]) -> pd.DataFrame:
    """Rows sorted by ``keys``: categorical keys in the given orders, numeric ones ascending."""
    return out.sort_values(
        keys,
        kind="stable",
        key=lambda col: col.map({v: i for i, v in enumerate(orders[col.name])})
        if col.name in orders
        else col,
    ).reset_index(drop=True)


@register_table("canvas_location")
def canvas_location_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Canvas location accuracy (%) per (arch,) padding x canvas colour x ring (and ``all``
    cells): each run's mean over the ring's cells, then mean / std / n / ci95 over seeds.
    The runs report their final epoch (column ``epoch_reported`` of the per-run rows)."""
    from padpos.canvas import COLOURS, RINGS

    by_run = [c for c in ("study", "arch", "padding", "seed", "canvas") if c in runs.columns]
    per_ring = runs.groupby(by_run + ["ring"], sort=False)["accuracy"].mean().reset_index()
    per_all = runs.groupby(by_run, sort=False)["accuracy"].mean().reset_index()
    per_all["ring"] = "all"
    by = (["arch"] if runs["arch"].nunique() > 1 else []) + ["padding", "canvas", "ring"]
    out = summarize(pd.concat([per_ring, per_all], ignore_index=True), by, "accuracy")
    orders = {"ring": [*RINGS, "all"], "canvas": list(COLOURS)}
    orders.update({c: list(dict.fromkeys(runs[c])) for c in ("arch", "padding") if c in by})
    return _order(out, by, orders)


@register_table("border_distance")
def border_distance_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Classification accuracy (%) per (arch,) padding x method x distance of the object to
    the border (px) over seeds; runs of failed backbones are counted in ``n_failed``."""
    by = (["arch"] if runs["arch"].nunique() > 1 else []) + ["padding", "method", "distance_px"]
    out = summarize(runs, by, "accuracy")
    orders = {c: list(dict.fromkeys(runs[c])) for c in ("arch", "padding", "method") if c in by}
    return _order(out, by, orders)
# ---------------------------------------------------------------- metric reliability
# Tables of the metric-reliability stage (PROTOCOLS.md section 6; docs/reliability.md)
# from the per-run rows of padpos.metrics.reliability.


def _reliability_metrics() -> tuple[str, ...]:
    """padpos.names.RELIABILITY_METRICS (imported when used, like the other tables' names)."""
    from padpos.names import RELIABILITY_METRICS

    return RELIABILITY_METRICS


RELIABILITY_RUN_COLUMNS = (
    "family", "network", "images", "truth", "seed", "dose", "metric", "value", "detects",
)  # fmt: skip
RELIABILITY_FAMILIES = ("control", "coordconv", "backbone", "calibration")


def _reliability_runs(runs: pd.DataFrame) -> pd.DataFrame:
    missing = sorted(set(RELIABILITY_RUN_COLUMNS) - set(runs))
    if missing:
        raise ValueError(f"reliability results lack the column(s) {missing}")
    unknown = sorted(set(runs["metric"]) - set(_reliability_metrics()))
    if unknown:
        raise ValueError(
            f"reliability results hold unknown metric(s) {unknown}; known: {list(_reliability_metrics())}"
        )
    detects = runs["detects"]
    if detects.dtype == object:  # read back from CSV
        detects = detects.map(lambda v: str(v).strip().lower() in ("true", "1", "1.0"))
    return runs.assign(detects=detects.astype(bool))


def _first_seen_rank(values) -> dict:
    return {v: i for i, v in enumerate(dict.fromkeys(values))}


def _reliability_networks(runs: pd.DataFrame) -> pd.Series:
    """The network name, prefixed by its arch when the backbones have several archs."""
    names = runs["network"].astype(str)
    if "arch" in runs and runs["arch"].dropna().nunique() > 1:
        has_arch = runs["arch"].notna()
        names = names.where(~has_arch, runs["arch"].astype(str) + "/" + names)
    return names


@register_table("metric_reliability")
def reliability_table(runs: pd.DataFrame) -> pd.DataFrame:
    """``network, images, truth, metric, value, std, n, ci95, n_failed``: each metric's
    mean (``value``) over seeds per network and image set, every network but the
    calibration. Rows: control, CoordConv, backbones (in the order they come: config
    order, initialisation before trained), metrics in ``padpos.names.RELIABILITY_METRICS`` order."""
    runs = _reliability_runs(runs)
    runs = runs[runs["family"] != "calibration"].copy()
    runs["network"] = _reliability_networks(runs)
    families = _first_seen_rank(RELIABILITY_FAMILIES)
    by_family = runs.assign(_f=runs["family"].map(families)).sort_values("_f", kind="stable")
    ranks = {"network": _first_seen_rank(by_family["network"]), "images": _first_seen_rank(runs["images"]),
             "metric": _first_seen_rank(_reliability_metrics())}  # fmt: skip
    runs = runs.sort_values(["network", "images", "metric"], kind="stable",
                            key=lambda c: c.map(ranks[c.name]))  # fmt: skip
    out = summarize(runs, ["network", "images", "truth", "metric"], "value")
    return out.rename(columns={"mean": "value"})


@register_table("metric_calibration")
def calibration_table(runs: pd.DataFrame) -> pd.DataFrame:
    """``metric, dose, value, seed`` (+ ``std, n, ci95, n_failed``: one run per row, so
    n = 1 and no spread): every calibration run."""
    runs = _reliability_runs(runs)
    cal = runs[runs["family"] == "calibration"]
    if cal.empty:
        raise ValueError("no calibration runs in the reliability results")
    metric_rank = _first_seen_rank(_reliability_metrics())
    cal = cal.sort_values(["metric", "dose", "seed"], kind="stable",
                          key=lambda c: c.map(metric_rank) if c.name == "metric" else c)  # fmt: skip
    out = summarize(cal, ["metric", "dose", "seed"], "value").rename(columns={"mean": "value"})
    return out[["metric", "dose", "value", "seed", "std", "n", "ci95", "n_failed"]]


def _spearman_rho(x, y) -> float:
    import numpy as np
    from scipy import stats as st

    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2 or np.unique(x).size < 2 or np.unique(y).size < 2:
        return float("nan")
    return float(st.spearmanr(x, y).statistic)


@register_table("metric_reliability_summary")
def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per metric: the Spearman correlation of the metric with the dose over seeds
    (``spearman_mean, spearman_std, n, spearman_ci95, n_failed``, and ``spearman_min``:
    1 = the doses ranked correctly on every seed); ``null_value`` (mean at dose 0:
    the control on the calibration's images); ``seed_std`` (std across seeds,
    averaged over the doses > 0); ``false_positive_rate`` / ``n_control`` (share of
    the control runs, every image set, that the metric's detection rule flags);
    ``true_positive_rate`` / ``n_positive`` (share of the trained backbones' and
    CoordConv runs it flags)."""
    import numpy as np

    runs = _reliability_runs(runs)
    rows = []
    for metric in _reliability_metrics():
        r = runs[runs["metric"] == metric]
        cal = r[r["family"] == "calibration"]
        spearman = pd.DataFrame({"metric": metric, "rho": [_spearman_rho(g["dose"], g["value"])
                                                           for _, g in cal.groupby("seed")]})  # fmt: skip
        if spearman.empty:
            spearman = pd.DataFrame({"metric": [metric], "rho": [np.nan]})
        row = summarize(spearman, ["metric"], "rho", prefix="spearman").iloc[0].to_dict()
        spread = cal[cal["dose"] > 0].groupby("dose")["value"].std(ddof=1)
        control = r[r["family"] == "control"]
        positive = r[(r["family"] == "coordconv")
                     | ((r["family"] == "backbone") & r["network"].astype(str).str.endswith("_trained"))]
        row.update({
            "spearman_min": float(spearman["rho"].min()),
            "null_value": float(cal.loc[cal["dose"] == 0, "value"].mean()) if len(cal) else np.nan,
            "seed_std": float(spread.mean()) if len(spread) else np.nan,
            "false_positive_rate": float(control["detects"].mean()) if len(control) else np.nan,
            "n_control": int(len(control)),
            "true_positive_rate": float(positive["detects"].mean()) if len(positive) else np.nan,
            "n_positive": int(len(positive)),
        })  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- costs
@register_table("cost")
def cost_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Where a study's time goes, from the jobs' Snakemake benchmarks (a ``rule`` column,
    ``s`` = wall seconds, ``max_rss`` = MB): per rule the number of jobs, their total
    wall time and the largest max RSS; the most expensive rule first, and a last row
    ``all`` (total over every job; max RSS of the largest job).

    The benchmarks' ``cpu_time`` is left out on purpose: Snakemake samples a job every
    0.5 s for its first 15 s and then every 30 s, so a job of 15-45 s is credited with
    the CPU time of its first 15 s (the default study's 24 s training jobs read ~15 s).
    The jobs' own provenance files record their exact CPU time (``cpu_time_s``)."""
    missing = {"rule", "s", "max_rss"} - set(runs)
    if missing:
        raise ValueError(f"benchmark rows lack the column(s) {sorted(missing)}")
    runs = runs.assign(**{c: pd.to_numeric(runs[c], errors="coerce") for c in ("s", "max_rss")})
    g = runs.groupby("rule", sort=False)
    out = pd.DataFrame(
        {"jobs": g.size(), "total_wall_s": g["s"].sum(), "max_rss_mb": g["max_rss"].max()}
    )
    out = out.sort_values("total_wall_s", ascending=False, kind="stable").reset_index()
    total = {"rule": "all", "jobs": len(runs), "total_wall_s": runs["s"].sum(),
             "max_rss_mb": runs["max_rss"].max()}  # fmt: skip
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    out["share_wall"] = out["total_wall_s"] / total["total_wall_s"]
    return out
