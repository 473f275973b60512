"""The command layer: the registry derived from the manifests, a fast --help, dispatch."""

import importlib
import json
import subprocess
import sys

import pytest

from padpos.cli import json_arg, load
from padpos.stages import command_registry, commands_module, manifests


def test_every_command_is_a_pair_of_functions_of_its_stage_and_nothing_else_is():
    """A manifest's command ``my-cmd`` is ``configure_my_cmd`` + ``run_my_cmd`` in the stage's
    commands.py, and every such pair there is declared by the manifest (no orphan glue)."""
    for stage, manifest in manifests().items():
        declared = {c.function_suffix for c in manifest.commands}
        for command in manifest.commands:
            assert command.help, f"command {command.name!r} has no help text"
        if not manifest.commands:
            continue
        module = importlib.import_module(commands_module(stage))
        defined = {name.split("_", 1)[1] for name in dir(module)
                   if name.startswith(("configure_", "run_")) and callable(getattr(module, name))}  # fmt: skip
        assert defined == declared, f"stage {stage}: functions {sorted(defined)}, manifest {sorted(declared)}"
        for suffix in declared:
            assert callable(getattr(module, f"configure_{suffix}")) and callable(getattr(module, f"run_{suffix}"))


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
    for name in command_registry():
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
                 "canvas", "reliability-reference", "reliability-backbones", "reliability-behaviour", "bench", "pretrained-posenet",
                 "pretrained-posenet-alone", "pretrained-ppp", "pretrained-location"}  # fmt: skip
    marked = {name for name in command_registry() if load(name).computes}
    assert marked == computing


def test_dispatch_tunes_the_allocator_before_a_computing_command(monkeypatch):
    import padpos.cli as cli
    import padpos.runtime as runtime
    from padpos.cli import Loaded

    calls = []
    monkeypatch.setattr(runtime, "tune_cpu_allocator", lambda: calls.append("tune"))
    for computes in (True, False):
        command = Loaded(lambda p: None, lambda a: calls.append("run"), computes=computes)
        monkeypatch.setattr(cli, "load", lambda name, c=command: c)
        assert cli.main(["train"]) == 0
    assert calls == ["tune", "run", "run"]
