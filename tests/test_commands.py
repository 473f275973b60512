"""The command layer: one registry, science modules free of argparse glue, a fast --help."""

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import padpos
from padpos.commands import REGISTRY, json_arg, load

PACKAGE = Path(padpos.__file__).parent
CLI_MODULES = ("padpos.cli", "padpos.commands")


def _imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement of ``path`` (any nesting level)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _science_modules() -> list[Path]:
    return [
        p
        for p in sorted(PACKAGE.rglob("*.py"))
        if "commands" not in p.relative_to(PACKAGE).parts and p.name not in ("cli.py", "__main__.py")
    ]


def test_no_science_module_imports_the_command_line():
    offenders = {}
    for path in _science_modules():
        bad = {m for m in _imported_modules(path) if m.startswith(CLI_MODULES) or m == "argparse"}
        if bad:
            offenders[str(path.relative_to(PACKAGE))] = sorted(bad)
    assert not offenders, f"science modules importing CLI / argparse: {offenders}"


def test_the_scan_sees_an_import_inside_a_function(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from padpos.commands import json_arg\n    import argparse\n")
    assert {"padpos.commands", "argparse"} <= _imported_modules(path)


def test_every_registered_command_is_defined_by_its_module_and_nowhere_else():
    defined = {}
    for name, (module, help_text) in REGISTRY.items():
        assert help_text, f"command {name!r} has no help text"
        commands = importlib.import_module(module).COMMANDS
        assert name in commands, f"{module} lacks command {name!r}"
    for path in sorted((PACKAGE / "commands").glob("*.py")):
        if path.name == "__init__.py":
            continue
        module = importlib.import_module(f"padpos.commands.{path.stem}")
        for name in getattr(module, "COMMANDS", {}):
            assert name not in defined, f"{name!r} defined in {defined.get(name)} and {module.__name__}"
            defined[name] = module.__name__
            assert name in REGISTRY, f"{module.__name__} defines {name!r}, not listed in REGISTRY"
            assert REGISTRY[name][0] == module.__name__


def test_help_lists_every_command_without_importing_torch():
    code = (
        "import sys, contextlib, io\n"
        "from padpos.cli import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'pandas', 'matplotlib') if m in sys.modules)\n"
        "print(json_out := __import__('json').dumps({'heavy': heavy, 'help': buf.getvalue()}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["heavy"] == [], f"padpos --help imported {out['heavy']}"
    for name in REGISTRY:
        assert name in out["help"]


def test_an_unknown_command_is_an_error_naming_it(capsys):
    from padpos.cli import main

    with pytest.raises(SystemExit):
        main(["no-such-command"])
    assert "no-such-command" in capsys.readouterr().err


def test_json_arg_names_bad_json():
    import argparse

    assert json_arg('{"a": 1}') == {"a": 1}
    with pytest.raises(argparse.ArgumentTypeError, match="not valid JSON"):
        json_arg("{a: 1}")


def test_the_cpu_allocator_is_tuned_once_for_every_computing_command_and_only_for_them():
    """The dispatcher, not each command, tunes the allocator: every command that trains or
    probes a network is marked ``computes`` (canvas and reliability included), and tables
    and figures are not (they need no torch import for it)."""
    computing = {"train", "ppp", "posenet", "posenet-alone", "fconv-redgreen", "fconv-location",
                 "canvas", "reliability-reference", "reliability-backbones", "bench"}  # fmt: skip
    marked = {name for name in REGISTRY if load(name).computes}
    assert marked == computing


def test_dispatch_tunes_the_allocator_before_a_computing_command(monkeypatch):
    import padpos.cli as cli
    import padpos.runtime as runtime
    from padpos.commands import Command

    calls = []
    monkeypatch.setattr(runtime, "tune_cpu_allocator", lambda: calls.append("tune"))
    for computes in (True, False):
        command = Command(lambda p: None, lambda a: calls.append("run"), computes=computes)
        monkeypatch.setattr(cli, "load", lambda name, c=command: c)
        assert cli.main(["train"]) == 0
    assert calls == ["tune", "run", "run"]
