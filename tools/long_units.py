"""List the units of src/padpos a reader has to scroll through (issue 28's limits): modules
longer than MODULE_LINES lines and functions / classes whose body is longer than
BODY_LINES lines. A module whose docstring says why it is longer (a line starting with
"Length:") is listed apart, as excused. Exit status 0 always: a report, not a gate.

    python tools/long_units.py            # offenders, longest first
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MODULE_LINES = 450
BODY_LINES = 80
ROOT = Path(__file__).resolve().parents[1] / "src" / "padpos"


def _body_lines(node: ast.AST) -> int:
    """Lines of a def / class from its first body statement (docstring included) to its end."""
    return node.end_lineno - node.body[0].lineno + 1


def _units(tree: ast.Module):
    """Every function and class, nested ones included (a method is measured on its own)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node


def _excused(tree: ast.Module) -> bool:
    doc = ast.get_docstring(tree) or ""
    return any(line.strip().startswith("Length:") for line in doc.splitlines())


def offenders(root: Path = ROOT):
    """(long modules, excused long modules, long units): lists of (lines, where)."""
    modules, excused, units = [], [], []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        tree = ast.parse(text, filename=str(path))
        rel = path.relative_to(root.parent)
        n = len(text.splitlines())
        if n > MODULE_LINES:
            (excused if _excused(tree) else modules).append((n, str(rel)))
        for node in _units(tree):
            if (lines := _body_lines(node)) > BODY_LINES:
                units.append((lines, f"{rel}:{node.lineno} {node.name}"))
    return sorted(modules, reverse=True), sorted(excused, reverse=True), sorted(units, reverse=True)


def main() -> int:
    modules, excused, units = offenders()
    print(f"modules over {MODULE_LINES} lines ({len(modules)}):")
    print("".join(f"  {n:5d}  {where}\n" for n, where in modules), end="")
    print(f"modules over {MODULE_LINES} lines with a 'Length:' reason in the docstring ({len(excused)}):")
    print("".join(f"  {n:5d}  {where}\n" for n, where in excused), end="")
    print(f"functions / classes with a body over {BODY_LINES} lines ({len(units)}):")
    print("".join(f"  {n:5d}  {where}\n" for n, where in units), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
