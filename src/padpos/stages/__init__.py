"""The stages of the pipeline: one folder per experiment, and the registries derived
from their manifests (torch-free).

A stage folder ``padpos/stages/<stage>/`` holds its science, its table builders
(``tables.py``), its figures (``figures.py``), its argparse glue (``commands.py``)
and its manifest (``manifest.py``, see :mod:`padpos.stages.manifest`). The list of
stages is the list of folders; nothing else names them. Stages may use the shared
building blocks below them (``padding``, ``models``, ``data``, ``features``,
``runtime``, ``io``, ``stats``, ``optim``, ``plotting``, ``names``), which import no stage.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from pathlib import Path

from padpos.stages.manifest import Command, Manifest, table_function

PACKAGE = __name__


def _stage_folders() -> tuple[str, ...]:
    """Every stage folder that has a manifest."""
    here = Path(__file__).parent
    return tuple(
        info.name
        for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda i: i.name)
        if info.ispkg and (here / info.name / "manifest.py").is_file()
    )


@functools.lru_cache(maxsize=None)
def manifests() -> dict[str, Manifest]:
    """Stage name -> its manifest (each ``manifest.py`` imported; they are torch-free), in
    the order of the data flow (``Manifest.order``)."""
    out = {}
    for stage in _stage_folders():
        manifest = importlib.import_module(f"{PACKAGE}.{stage}.manifest").MANIFEST
        object.__setattr__(manifest, "stage", stage)
        out[stage] = manifest
    return dict(sorted(out.items(), key=lambda item: item[1].order))


def stage_names() -> tuple[str, ...]:
    """Every stage, in the order of the data flow (rule files are included in it, so that
    a rule can refer to an earlier stage's rules)."""
    return tuple(manifests())


@functools.lru_cache(maxsize=None)
def command_registry() -> dict[str, Command]:
    """Command name -> its :class:`Command` (with ``stage`` known from the manifest);
    a name declared by two stages is an error naming both."""
    out: dict[str, Command] = {}
    owner: dict[str, str] = {}
    for stage, manifest in manifests().items():
        for command in manifest.commands:
            if command.name in out:
                raise ValueError(f"command {command.name!r} is declared by the stages {owner[command.name]} and {stage}")
            out[command.name], owner[command.name] = command, stage
    return out


@functools.lru_cache(maxsize=None)
def command_stage(name: str) -> str:
    """The stage that declares command ``name``; KeyError naming the known ones."""
    for stage, manifest in manifests().items():
        if any(c.name == name for c in manifest.commands):
            return stage
    raise KeyError(f"unknown command {name!r}; known: {', '.join(sorted(command_registry()))}")


def commands_module(stage: str) -> str:
    return f"{PACKAGE}.{stage}.commands"


@functools.lru_cache(maxsize=None)
def table_registry() -> dict[str, str]:
    """Table name -> the stage that builds it; a name declared twice is an error."""
    out: dict[str, str] = {}
    for stage, manifest in manifests().items():
        for name in manifest.tables:
            if name in out:
                raise ValueError(f"table {name!r} is declared by the stages {out[name]} and {stage}")
            out[name] = stage
    return out


def tables_module(stage: str) -> str:
    return f"{PACKAGE}.{stage}.tables"


def table_builder(name: str):
    """The builder ``table_<name>(runs) -> summary`` of table ``name`` (imports only its
    stage's ``tables.py``); KeyError naming the registered tables."""
    registry = table_registry()
    if name not in registry:
        raise KeyError(f"unknown table {name!r}; registered tables: {', '.join(sorted(registry))}")
    module = importlib.import_module(tables_module(registry[name]))
    builder = getattr(module, table_function(name), None)
    if builder is None:
        raise KeyError(f"{module.__name__} defines no {table_function(name)}() for table {name!r}")
    return builder


def build_table(name: str, runs, exclude_failed: bool = True):
    """Table ``name`` from the concatenated per-run rows ``runs`` (failed runs left out of
    the statistics unless ``exclude_failed`` is false)."""
    from padpos.stats import failed_runs_excluded

    builder = table_builder(name)
    with failed_runs_excluded(exclude_failed):
        return builder(runs)


__all__ = [
    "build_table",
    "command_registry",
    "command_stage",
    "commands_module",
    "manifests",
    "stage_names",
    "table_builder",
    "table_registry",
    "tables_module",
]
