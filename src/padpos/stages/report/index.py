"""figures/all: an index of every figure and table the workflow built (path, bytes, sha256)."""

from __future__ import annotations

import hashlib
from pathlib import Path



def figures_index(paths) -> str:
    lines = ["# every figure and table of this study (path, bytes, sha256)"]
    for p in map(Path, paths):
        if not p.is_file():
            raise FileNotFoundError(f"expected output {p} does not exist")
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        lines.append(f"{p}\t{p.stat().st_size}\t{digest}")
    return "\n".join(lines) + "\n"
