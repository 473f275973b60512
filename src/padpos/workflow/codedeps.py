"""Which package files a command runs, read from the source (``ast``; nothing is imported).

The workflow declares these files as inputs of the rule that runs the command, so that
a rule re-runs when a library file it uses changes, and only then:

- the command's own functions in its stage's ``commands.py`` (``configure_<name>`` and
  ``run_<name>``, see :mod:`padpos.stages.manifest`): the imports at module level whose
  names those functions (and the module functions they call) use, and the imports
  inside them; a table's builder ``table_<name>`` in its stage's ``tables.py`` likewise;
- every ``padpos`` module imported from there, transitively, at module level or inside
  functions (lazy imports), with the ``__init__.py`` of every package on the way.

The dispatch layer (``padpos/__init__.py``, ``__main__.py``, ``cli.py``, the stage
registry ``stages/__init__.py``, the manifests and the stage packages' docstring-only
``__init__.py`` files: version, registries, help texts) routes commands and computes
nothing, so it is not a dependency and its own imports are not followed: adding a
command re-runs nothing.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = "padpos"
STAGES = "stages"


@functools.lru_cache(maxsize=None)
def _parse(path: str) -> ast.Module:
    return ast.parse(Path(path).read_text(), filename=path)


def module_file(root: Path, module: str) -> Path | None:
    """The source file of ``padpos.<...>`` under the package directory ``root`` (None if absent)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = Path(root).joinpath(*parts[1:])
    if base.with_suffix(".py").is_file() and len(parts) > 1:
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def module_name(root: Path, path: Path) -> str:
    rel = Path(path).relative_to(root).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def dispatch_files(root: Path) -> set[Path]:
    """The files of the dispatch layer (see the module docstring)."""
    root = Path(root)
    files = {root / "__init__.py", root / "__main__.py", root / "cli.py"}
    stages = root / STAGES
    files |= {stages / "__init__.py", stages / "manifest.py"}
    files |= set(stages.glob("*/manifest.py")) | set(stages.glob("*/__init__.py"))
    return files


def _is_package(path: Path) -> bool:
    return Path(path).name == "__init__.py"


def _resolve(root: Path, here: str, here_is_pkg: bool, node: ast.AST) -> list[tuple[str, list[str]]]:
    """(module, bound names) pairs of the padpos modules an import statement loads."""
    out = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == PACKAGE:
                out.append((alias.name, [alias.asname or alias.name.split(".")[0]]))
        return out
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        package = here.split(".") if here_is_pkg else here.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    if base.split(".")[0] != PACKAGE:
        return out
    for alias in node.names:
        bound = alias.asname or alias.name
        sub = f"{base}.{alias.name}"
        out.append((sub if module_file(root, sub) else base, [bound]))
    return out


def _with_parents(module: str) -> list[str]:
    """``padpos.a.b`` -> [padpos.a.b, padpos.a, padpos]: importing it runs every package's __init__."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def _all_imports(root: Path, path: Path) -> set[str]:
    """Every padpos module imported anywhere in ``path`` (module level and inside functions)."""
    here = module_name(root, path)
    mods = set()
    for node in ast.walk(_parse(str(path))):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            mods.update(m for m, _ in _resolve(root, here, _is_package(path), node))
    return mods


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def function_imports(root: Path, path: Path, functions) -> set[str]:
    """The padpos modules that the top-level ``functions`` of the module ``path`` use: the
    imports inside them (and inside the module's functions and classes they call, by
    name, transitively) and the module-level imports whose names any of those use.
    Module-level statements other than definitions run at import time: their names count."""
    tree = _parse(str(path))
    here, is_pkg = module_name(root, path), _is_package(path)
    defs = {n.name: n for n in tree.body if isinstance(n, _DEFS)}
    missing = [f for f in functions if f not in defs and f not in _assigned(tree)]
    if missing:
        raise KeyError(f"{path} defines no {', '.join(missing)}")
    roots = set(functions)
    for node in tree.body:
        if not isinstance(node, (*_DEFS, ast.Import, ast.ImportFrom)):
            roots |= _names(node)
    used, todo, mods = set(), list(roots), set()
    while todo:
        name = todo.pop()
        if name in used:
            continue
        used.add(name)
        if name in defs:
            fn = defs[name]
            todo.extend(_names(fn) - used)
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    mods.update(m for m, _ in _resolve(root, here, is_pkg, node))
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for mod, bound in _resolve(root, here, is_pkg, node):
                if set(bound) & used:
                    mods.add(mod)
    return mods


def _assigned(tree: ast.Module) -> set[str]:
    """Names bound by module-level assignments (``configure_b = configure_a``)."""
    out = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                out |= _names(target)
    return out


def closure(root: Path, modules) -> list[Path]:
    """Source files of ``modules`` and of every padpos module they import, transitively
    (package ``__init__`` files included), the dispatch layer excluded and not followed;
    sorted."""
    root = Path(root)
    dispatch = dispatch_files(root)
    seen: set[Path] = set()
    todo = [m for mod in modules for m in _with_parents(mod)]
    while todo:
        path = module_file(root, todo.pop())
        if path is None or path in seen:
            continue
        seen.add(path)
        if path in dispatch:
            continue
        todo.extend(m for mod in _all_imports(root, path) for m in _with_parents(mod))
    return sorted(p for p in seen if p not in dispatch)


# ---------------------------------------------------------------- the manifests, read as source
def _call_name(node: ast.AST) -> str | None:
    func = node.func if isinstance(node, ast.Call) else None
    return getattr(func, "id", None) or getattr(func, "attr", None)


@functools.lru_cache(maxsize=None)
def _manifests(root: str) -> dict[str, dict[str, list[str]]]:
    out = {}
    for path in sorted((Path(root) / STAGES).glob("*/manifest.py")):
        commands, tables = [], []
        for node in ast.walk(_parse(str(path))):
            name = _call_name(node)
            if name == "Command" and node.args and isinstance(node.args[0], ast.Constant):
                commands.append(node.args[0].value)
            elif name == "Manifest":
                for kw in node.keywords:
                    if kw.arg == "tables":
                        tables.extend(ast.literal_eval(kw.value))
        out[path.parent.name] = {"commands": commands, "tables": tables}
    return out


def manifests(root: Path) -> dict[str, dict[str, list[str]]]:
    """Stage -> ``{"commands": [...], "tables": [...]}``, read from every manifest's source."""
    return _manifests(str(Path(root)))


def _stage_of(root: Path, kind: str, name: str) -> str:
    for stage, entries in manifests(root).items():
        if name in entries[kind]:
            return stage
    known = sorted(n for entries in manifests(root).values() for n in entries[kind])
    raise KeyError(f"unknown {kind[:-1]} {name!r}; known: {', '.join(known)}")


def _stage_files(root: Path, stage: str, module: str, functions) -> list[Path]:
    path = Path(root) / STAGES / stage / f"{module}.py"
    if not path.is_file():
        raise FileNotFoundError(f"stage {stage!r} has no {module}.py under {root}")
    own = {module_file(root, m) for m in _with_parents(module_name(root, path))} - {None}
    files = set(closure(root, function_imports(root, path, functions))) | own
    return sorted(files - dispatch_files(root))


def command_files(root: Path, command: str, *modules: str) -> list[Path]:
    """Every package file that ``padpos <command>`` runs, plus ``modules`` (and what they
    import: for modules the command imports by name at run time)."""
    root = Path(root)
    stage = _stage_of(root, "commands", command)
    stem = command.replace("-", "_")
    files = set(_stage_files(root, stage, "commands", (f"configure_{stem}", f"run_{stem}")))
    return sorted(files | set(closure(root, modules)))


def table_files(root: Path, name: str) -> list[Path]:
    """Every package file that ``padpos table <name>`` runs: the table command, and the
    builder ``table_<name>`` in its stage's ``tables.py`` with what it uses (not what
    only the stage's other builders import)."""
    root = Path(root)
    stage = _stage_of(root, "tables", name)
    own = _stage_files(root, stage, "tables", (f"table_{name}",))
    return sorted(set(command_files(root, "table")) | set(own))


def registered_tables(root: Path) -> dict[str, str]:
    """Table name -> its stage, from the manifests."""
    return {t: stage for stage, entries in manifests(root).items() for t in entries["tables"]}
