"""The list of jobs that errored, which a Snakemake run prints at its very end (its
`onerror` hook).

A job *errors* when its command exits non-zero (a crash, a diverged training, a bad
file); that is not a *failed run*, the pipeline's word for a run that finished below
its quality floor and is flagged in the tables. With ``--keep-going``, Snakemake
reports each error where it happens, among the output of every other job; this
module collects them from Snakemake's own log into one short list: the rule, the
job's log file and the error line that the job wrote there (``padpos train: error:
training diverged: run ...``). Torch-free, so that the hook costs nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

# one "Error in rule R:" block of Snakemake's log: indented "key: value" lines
ERROR_BLOCK = re.compile(r"^Error in rule (\S+?):\n((?:[ \t]+.*\n?)+)", re.M)
LOG_LINE = re.compile(r"^\s+log: (.+?)(?: \(check log file\(s\) for error details\))?$", re.M)
WILDCARDS_LINE = re.compile(r"^\s+wildcards: (.+)$", re.M)


def errored_jobs(text: str) -> list[dict]:
    """Every job that errored in a Snakemake log, once (a retried job counts once): rule,
    wildcards (when Snakemake printed them) and log files."""
    jobs, seen = [], set()
    for m in ERROR_BLOCK.finditer(text):
        rule, body = m.group(1), m.group(2)
        logs = LOG_LINE.search(body)
        wildcards = WILDCARDS_LINE.search(body)
        job = {
            "rule": rule,
            "wildcards": wildcards.group(1).strip() if wildcards else "",
            "logs": [p.strip() for p in logs.group(1).split(",")] if logs else [],
        }
        key = (job["rule"], job["wildcards"], tuple(job["logs"]))
        if key not in seen:
            seen.add(key)
            jobs.append(job)
    return jobs


def job_error(log: str | Path) -> str:
    """The line of a job's log that says what went wrong: the command's own error line,
    else the last line of a Python traceback, else the last line of the log."""
    path = Path(log)
    if not path.is_file():
        return f"(no log file {path})"
    # progress bars redraw with carriage returns: each redraw is a line of its own
    lines = [ln.strip() for ln in re.split(r"[\r\n]+", path.read_text(errors="replace")) if ln.strip()]
    for pattern in (r"^padpos [\w-]+: error: ", r"^\w+(\.\w+)*(Error|Exception|Interrupt)\b.*:", r""):
        hits = [ln for ln in lines if re.search(pattern, ln)]
        if hits:
            return hits[-1]
    return "(empty log)"


def error_summary(snakemake_logs, workdir: str | Path = ".") -> str:
    """The end-of-run list of jobs that errored (empty string if none was found)."""
    if isinstance(snakemake_logs, (str, Path)):
        snakemake_logs = [snakemake_logs]
    text = "".join(Path(p).read_text(errors="replace") for p in snakemake_logs if Path(p).is_file())
    jobs = errored_jobs(text)
    if not jobs:
        return ""
    out = [f"padpos: {len(jobs)} job(s) failed; every result that did not depend on them was built"
           " if you ran with --keep-going. Fix the cause, then run the same command again:"]  # fmt: skip
    for job in jobs:
        what = f"rule {job['rule']}" + (f" ({job['wildcards']})" if job["wildcards"] else "")
        out.append(f"  - {what}")
        for log in job["logs"]:
            out.append(f"      log {log}: {job_error(Path(workdir) / log)}")
    return "\n".join(out)
