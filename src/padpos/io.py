"""Atomic file output, and readers that name a damaged file and what to do.

Every writer goes through a temporary sibling file and ``os.replace`` (atomic on
POSIX), so a job killed mid-write leaves either the old file or no file.

The readers (:func:`load_torch`, :func:`read_csv`) turn a truncated or corrupt
file (copied half-way, a full disk, an edit by hand) into a
:class:`CorruptFileError` that names the file and says to delete it and re-run,
instead of a raw unpickling or parser traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator


class ReportedError(RuntimeError):
    """An error whose message tells the user everything (what, which file or run, what to
    do): the command line prints it without a traceback and exits with status 1."""


class CorruptFileError(ReportedError):
    """A file is truncated or corrupt; the message names it and says what to do."""


def corrupt_file(path: str | os.PathLike, what: str, problem: str) -> CorruptFileError:
    return CorruptFileError(
        f"{what} {path} {problem}: the file is truncated or corrupt. "
        f"Delete it and re-run (Snakemake rebuilds it from its inputs)."
    )


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it into place on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_csv(path: str | os.PathLike, df) -> None:
    """Write a pandas DataFrame as CSV atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def save_figure(fig, paths: str | os.PathLike | Iterable[str | os.PathLike], dpi: int = 150) -> None:
    """Save a matplotlib figure atomically to one path or to each of several (format from
    each suffix: a figure drawn once, saved as .png and .pdf). A PDF records no creation
    date, so the same figure gives the same bytes."""
    for path in [paths] if isinstance(paths, (str, os.PathLike)) else paths:
        path = Path(path)
        fmt = path.suffix.lstrip(".") or "png"
        metadata = {"CreationDate": None} if fmt == "pdf" else None
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=fmt, metadata=metadata)


# ---------------------------------------------------------------- readers
def _zip_intact(path: Path) -> bool:
    """True if ``path`` is a complete zip archive (torch.save's format) with valid CRCs."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return z.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def load_torch(path: str | os.PathLike, what: str = "checkpoint", **kwargs) -> Any:
    """``torch.load(path, **kwargs)``; a truncated or corrupt file raises CorruptFileError."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        return torch.load(path, **kwargs)
    except (EOFError, pickle.UnpicklingError) as err:
        raise corrupt_file(path, what, f"cannot be unpickled ({type(err).__name__}: {err})") from None
    except Exception as err:
        if _zip_intact(path):
            raise  # an intact file: the problem is elsewhere (device, version), not the file
        raise corrupt_file(path, what, f"cannot be read ({type(err).__name__}: {err})") from None


def read_csv(path: str | os.PathLike, what: str = "result file", **read_options):
    """A CSV written by :func:`write_csv` (or a Snakemake benchmark TSV, with
    ``read_options`` for ``pandas.read_csv``) as a DataFrame; a missing, empty, truncated
    or unparsable file raises an error naming it."""
    import io

    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    raw = path.read_bytes()
    if not raw.strip():
        raise corrupt_file(path, what, "is empty")
    if not raw.endswith(b"\n"):
        # write_csv always ends with a newline: a file without one was cut off
        raise corrupt_file(path, what, "does not end with a newline")
    try:
        df = pd.read_csv(io.BytesIO(raw), **read_options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise corrupt_file(path, what, f"cannot be parsed ({type(err).__name__}: {err})") from None
    if df.empty:
        raise corrupt_file(path, what, "has a header but no rows")
    return df


def load_npz(path: str | os.PathLike, what: str = "result file") -> dict:
    """Every array of an ``.npz`` file, loaded; a truncated or corrupt file raises
    CorruptFileError naming it."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except Exception as err:
        if _zip_intact(path):
            raise
        raise corrupt_file(path, what, f"cannot be read ({type(err).__name__}: {err})") from None


# ---------------------------------------------------------------- tables of runs
def read_runs(paths) -> "pd.DataFrame":  # noqa: F821
    """Concatenate per-run CSV files; a missing, empty or truncated file is an error naming it.

    A ``.tsv`` file is a Snakemake benchmark (one job's wall time ``s``, ``max_rss`` in MB,
    ``cpu_time``, ...; ``-`` where unmeasured): it gets a ``rule`` column, the name of
    its folder (``results/<study>/benchmarks/<rule>/<job>.tsv``)."""
    import pandas as pd

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


def write_table(df, csv_path: str | os.PathLike, float_format: str = "%.4g") -> None:
    """Write ``df`` as CSV at ``csv_path`` and as Markdown / LaTeX siblings (.md, .tex);
    NaN (no spread for one run) is an empty cell in every format; a ``|`` in a Markdown
    cell is escaped (``\\|``), so it cannot split the cell."""
    csv_path = Path(csv_path)
    write_csv(csv_path, df)
    # a "|" inside a cell would end the cell in Markdown: escaped as "\|" (text cells and
    # column names only; numbers keep their type for floatfmt)
    md = df.astype(object).where(df.notna(), None)
    md = md.apply(lambda col: col.map(lambda v: v.replace("|", "\\|") if isinstance(v, str) else v))
    md.columns = [str(c).replace("|", "\\|") for c in md.columns]
    write_text(
        csv_path.with_suffix(".md"),
        md.to_markdown(index=False, floatfmt=".4g", missingval="") + "\n",
    )
    write_text(
        csv_path.with_suffix(".tex"),
        df.to_latex(index=False, float_format=lambda v: float_format % v, na_rep=""),
    )
