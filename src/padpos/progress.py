"""Progress bars that keep a batch job's log small.

Imported by the command dispatcher before any command (and so before tqdm): no torch here.
"""

from __future__ import annotations

import os
import sys

# seconds between two refreshes of a progress bar whose stderr is a log file (a batch job,
# every workflow job): tqdm's default 0.1 s grows a 16-hour training log to tens of MB
BATCH_PROGRESS_INTERVAL = 60


def batch_friendly_progress(environ=None, stream=None) -> bool:
    """Throttle every tqdm bar of this process (and its children) when stderr is not a
    terminal or the process runs under SLURM: sets TQDM_MININTERVAL (tqdm reads it when it
    is imported, so call this first), unless the user set it. Returns True if it did."""
    environ = os.environ if environ is None else environ
    stream = sys.stderr if stream is None else stream
    if "TQDM_MININTERVAL" in environ:
        return False
    interactive = hasattr(stream, "isatty") and stream.isatty()
    if interactive and "SLURM_JOB_ID" not in environ:
        return False
    environ["TQDM_MININTERVAL"] = str(BATCH_PROGRESS_INTERVAL)
    return True

