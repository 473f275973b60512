"""Which package files a command runs, read from the source (``ast``; nothing is imported).

The workflow declares these files as inputs of the rule that runs the command, so that
a rule re-runs when a library file it uses changes, and only then:

- the command's own module in :mod:`padpos.commands`, read per command: the imports at
  module level whose names the command's ``configure`` / ``run`` functions (and the
  module functions they call) use, and the imports inside those functions;
- every ``padpos`` module imported from there, transitively, at module level or inside
  functions (lazy imports), with the ``__init__.py`` of every package on the way.

The dispatch layer (``padpos/__init__.py``, ``__main__.py``, ``cli.py``,
``commands/__init__.py``: version, registry and help texts) routes commands and
computes nothing, so it is not a dependency: adding a command re-runs nothing.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = "padpos"
DISPATCH = ("__init__.py", "__main__.py", "cli.py", "commands/__init__.py")


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


def _all_imports(root: Path, path: Path, skip: frozenset = frozenset()) -> set[str]:
    """Every padpos module imported anywhere in ``path`` (module level and inside functions),
    except inside the top-level definitions named in ``skip``."""
    here = module_name(root, path)
    tree = _parse(str(path))
    skip = _only_used_by(tree, skip) if skip else skip
    mods = set()
    for top in tree.body:
        if getattr(top, "name", None) in skip:
            continue
        for node in ast.walk(top):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mods.update(m for m, _ in _resolve(root, here, _is_package(path), node))
    return mods


def _only_used_by(tree: ast.Module, skip: frozenset) -> frozenset:
    """``skip`` plus the top-level definitions used only by skipped ones (their helpers)."""
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    users: dict[str, set] = {name: set() for name in defs}
    for top in tree.body:
        for name in _names(top) & defs.keys():
            if name != getattr(top, "name", None):
                users[name].add(getattr(top, "name", None))
    skip = set(skip)
    changed = True
    while changed:
        changed = False
        for name, by in users.items():
            if name not in skip and by and by <= skip:
                skip.add(name)
                changed = True
    return frozenset(skip)


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _command_imports(root: Path, path: Path, command: str) -> set[str]:
    """The padpos modules that command ``command`` of a commands module uses (see module doc).
    Falls back to every import of the file when its ``COMMANDS`` entry cannot be read."""
    tree = _parse(str(path))
    here, is_pkg = module_name(root, path), _is_package(path)
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    entry = None
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "COMMANDS" and isinstance(node.value, ast.Dict):
            for key, value in zip(node.value.keys, node.value.values):
                if isinstance(key, ast.Constant) and key.value == command:
                    entry = value
    if entry is None:
        return _all_imports(root, path)
    # module-level statements other than definitions and COMMANDS run at import: their names count
    roots = _names(entry)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
            continue
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "COMMANDS":
            continue
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


def closure(root: Path, modules, skip: dict | None = None) -> list[Path]:
    """Source files of ``modules`` and of every padpos module they import, transitively
    (package ``__init__`` files included, the dispatch layer excluded), sorted. ``skip``:
    file -> names of its top-level definitions whose imports are not followed; by default
    every registered table builder (a table's own code is a dependency of that table only,
    see :func:`table_files`)."""
    root = Path(root)
    if skip is None:
        skip = _builder_skips(root)
    skip = {Path(k): frozenset(v) for k, v in skip.items()}
    seen: set[Path] = set()
    todo = [m for mod in modules for m in _with_parents(mod)]
    while todo:
        path = module_file(root, todo.pop())
        if path is None or path in seen:
            continue
        seen.add(path)
        imports = _all_imports(root, path, skip.get(path, frozenset()))
        todo.extend(m for mod in imports for m in _with_parents(mod))
    dispatch = {root / d for d in DISPATCH}
    return sorted(p for p in seen if p not in dispatch)


def command_registry(root: Path) -> dict[str, str]:
    """Command name -> module, read from ``commands/__init__.py``'s ``REGISTRY`` literal."""
    path = Path(root) / "commands" / "__init__.py"
    for node in _parse(str(path)).body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "REGISTRY":
            return {name: entry[0] for name, entry in ast.literal_eval(node.value).items()}
    raise ValueError(f"{path} defines no REGISTRY")


def command_files(root: Path, command: str, *modules: str, skip: dict | None = None) -> list[Path]:
    """Every package file that ``padpos <command>`` runs, plus ``modules`` (and what they
    import: for modules the command imports by name at run time, such as a table's home);
    ``skip`` as in :func:`closure`."""
    root = Path(root)
    registry = command_registry(root)
    if command not in registry:
        raise KeyError(f"unknown command {command!r}; known: {', '.join(sorted(registry))}")
    path = module_file(root, registry[command])
    if path is None:
        raise FileNotFoundError(f"command {command!r}: module {registry[command]} not found under {root}")
    # the command's module itself is read per command (not wholesale): add its file, follow
    # only the imports that this command uses
    own = {module_file(root, m) for m in _with_parents(registry[command])} - {None}
    files = set(closure(root, {*_command_imports(root, path, command), *modules}, skip)) | own
    dispatch = {root / d for d in DISPATCH}
    return sorted(p for p in files if p not in dispatch)


def table_files(root: Path, name: str) -> list[Path]:
    """Every package file that ``padpos table <name>`` runs: the table command, the module
    that registers the table and what they import, leaving out what only the *other*
    tables' builders import (editing PosENet code re-runs the PosENet tables only)."""
    root = Path(root)
    builders = _table_builders(root)
    if name not in builders:
        raise KeyError(f"unknown table {name!r}; registered tables: {', '.join(sorted(builders))}")
    return command_files(root, "table", builders[name][0], skip=_builder_skips(root, keep=name))


def _builder_skips(root: Path, keep: str | None = None) -> dict:
    """File -> the table builder functions in it, except the builder of table ``keep``."""
    builders = _table_builders(root)
    kept = builders.get(keep)
    skip: dict[Path, set] = {}
    for module, fn in builders.values():
        if (module, fn) != kept:
            skip.setdefault(module_file(root, module), set()).add(fn)
    return skip


def registered_tables(root: Path) -> dict[str, str]:
    """Table name -> module, from every ``@register_table("name")`` decorator in the package."""
    return {name: module for name, (module, _fn) in _table_builders(root).items()}


def _table_builders(root: Path) -> dict[str, tuple[str, str]]:
    """Table name -> (module, builder function name), read from the decorators."""
    root = Path(root)
    homes: dict[str, tuple[str, str]] = {}
    for path in sorted(root.rglob("*.py")):
        if "register_table" not in path.read_text():
            continue
        for node in ast.walk(_parse(str(path))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for dec in node.decorator_list:
                func = dec.func if isinstance(dec, ast.Call) else None
                fname = getattr(func, "id", None) or getattr(func, "attr", None)
                if fname == "register_table" and dec.args and isinstance(dec.args[0], ast.Constant):
                    homes[dec.args[0].value] = (module_name(root, path), node.name)
    return homes
