"""figures/all: an index of every figure and table the workflow built (path, bytes, sha256)."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from padpos.io import write_text


def figures_index(paths) -> str:
    lines = ["# every figure and table of this study (path, bytes, sha256)"]
    for p in map(Path, paths):
        if not p.is_file():
            raise FileNotFoundError(f"expected output {p} does not exist")
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        lines.append(f"{p}\t{p.stat().st_size}\t{digest}")
    return "\n".join(lines) + "\n"


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inputs", nargs="+", required=True, help="figures and tables to list")
    p.add_argument("--output", required=True, help="the index file (figures/all)")


def _run(args: argparse.Namespace) -> None:
    write_text(args.output, figures_index(args.inputs))


from padpos.cli import Command  # noqa: E402

CLI = {"figures-index": Command(_configure, _run, "write figures/all: the list of every figure built")}
