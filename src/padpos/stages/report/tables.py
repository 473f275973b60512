"""The cost table: where a study's time goes, from its jobs' Snakemake benchmarks."""

from __future__ import annotations

import pandas as pd


def table_cost(runs: pd.DataFrame) -> pd.DataFrame:
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
