"""Derived code dependencies (padpos.workflow.codedeps): which package files a command runs."""

import textwrap
from pathlib import Path

import pytest

from padpos.workflow import codedeps

PKG = Path(__file__).resolve().parents[1] / "src" / "padpos"


def _write(root: Path, files: dict) -> Path:
    for rel, text in files.items():
        path = root / "padpos" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "padpos"


@pytest.fixture
def fake(tmp_path):
    return _write(tmp_path, {
        "__init__.py": "__version__ = '0'\n",
        "cli.py": "from padpos.stages import registry\n\ndef main():\n    from padpos import runtime\n",
        "runtime.py": "x = 1\n",
        "stages/__init__.py": "from padpos.stages.manifest import Manifest\n",
        "stages/manifest.py": "class Manifest: ...\nclass Command: ...\n",
        "stages/fit/__init__.py": '"""the fit stage"""\n',
        "stages/fit/manifest.py": """
            from padpos.stages.manifest import Command, Manifest
            MANIFEST = Manifest(commands=(Command("fit", "h"), Command("draw", "h")), tables=("a", "b"))
        """,
        "stages/fit/commands.py": """
            import argparse
            from padpos.cli import json_arg
            from padpos import helpers as h

            def _common(p):
                p.add_argument("--x")

            def configure_fit(p):
                _common(p)

            def run_fit(args):
                from padpos.stages.fit.science import fit  # lazy import
                fit()

            configure_draw = configure_fit

            def run_draw(args):
                from .figures import draw  # relative, lazy
                draw(h.title())
        """,
        "stages/fit/science.py": """
            from padpos.core import kernel

            def fit():
                from padpos import deep  # lazy, inside a function
                return kernel()
        """,
        "stages/fit/figures.py": "from padpos.plotting import look\n\ndef draw(t):\n    look()\n",
        "stages/fit/tables.py": """
            from padpos.stats import summarize

            def _a_helper(runs):
                from padpos.a import A
                return A

            def table_a(runs):
                return _a_helper(summarize(runs))

            def table_b(runs):
                from padpos.b import B
                return B
        """,
        "stages/report/__init__.py": '"""report"""\n',
        "stages/report/manifest.py": """
            from padpos.stages.manifest import Command, Manifest
            MANIFEST = Manifest(commands=(Command("table", "h"),))
        """,
        "stages/report/commands.py": """
            def configure_table(p):
                pass

            def run_table(args):
                from padpos.io import read_runs
                from padpos.stages import registry
        """,
        "core.py": "def kernel():\n    return 1\n",
        "deep.py": "from . import core\n",
        "helpers.py": "def title():\n    return 't'\n",
        "plotting.py": "def look():\n    pass\n",
        "stats.py": "def summarize(x):\n    return x\n",
        "io.py": "", "a.py": "A = 1\n", "b.py": "B = 2\n",
        "unused.py": "x = 1\n",
    })


def _rel(root, paths):
    return sorted(str(p.relative_to(root)) for p in paths)


def test_a_command_gets_its_transitive_imports_lazy_and_indirect_included(fake):
    # science.py imports core at module level and deep lazily; deep imports core relatively
    assert _rel(fake, codedeps.command_files(fake, "fit")) == [
        "core.py", "deep.py", "stages/fit/commands.py", "stages/fit/science.py"]


def test_commands_sharing_a_module_get_only_their_own_imports(fake):
    # draw (an alias of fit's configure) uses the module-level `helpers` import and a
    # relative lazy import; not the science
    assert _rel(fake, codedeps.command_files(fake, "draw")) == [
        "helpers.py", "plotting.py", "stages/fit/commands.py", "stages/fit/figures.py"]


def test_the_dispatch_layer_is_neither_a_dependency_nor_followed(fake):
    """cli.py (imported for json_arg) lazily imports runtime: not followed, so editing the
    dispatcher or its imports re-runs nothing; manifests and stage __init__ files neither."""
    for command in ("fit", "draw", "table"):
        files = set(_rel(fake, codedeps.command_files(fake, command)))
        assert not {"__init__.py", "cli.py", "runtime.py", "stages/__init__.py", "stages/manifest.py",
                    "stages/fit/manifest.py", "stages/fit/__init__.py", "unused.py"} & files, files  # fmt: skip


def test_extra_modules_and_unknown_command(fake):
    assert "unused.py" in _rel(fake, codedeps.command_files(fake, "draw", "padpos.unused"))
    with pytest.raises(KeyError, match="unknown command 'nope'"):
        codedeps.command_files(fake, "nope")


def test_a_table_gets_its_builder_and_the_table_command_not_the_other_builders(fake):
    assert codedeps.registered_tables(fake) == {"a": "fit", "b": "fit"}
    common = ["io.py", "stages/fit/tables.py", "stages/report/commands.py"]
    assert _rel(fake, codedeps.table_files(fake, "a")) == sorted(["a.py", "stats.py", *common])
    assert _rel(fake, codedeps.table_files(fake, "b")) == sorted(["b.py", *common])
    with pytest.raises(KeyError, match="unknown table 'c'"):
        codedeps.table_files(fake, "c")


def test_a_command_whose_functions_are_missing_is_an_error_naming_them(fake):
    (fake / "stages" / "fit" / "commands.py").write_text("def configure_fit(p):\n    pass\n")
    codedeps._parse.cache_clear()
    with pytest.raises(KeyError, match="run_fit"):
        codedeps.command_files(fake, "fit")


# ---------------------------------------------------------------- the real package
def _real(command, *extra):
    return set(_rel(PKG, codedeps.command_files(PKG, command, *extra)))


def test_real_package_training_figures_and_tables_are_separate():
    train = _real("train")
    assert {"stages/train/training.py", "models.py", "padding.py"} <= train
    assert not any(f.endswith(("figures.py", "tables.py")) for f in train)
    plot = _real("plot-training")
    assert "stages/train/figures.py" in plot and "padding.py" not in plot
    assert "stages/train/training.py" not in plot  # the science is not a figure's dependency
    for compute in ("ppp", "posenet", "fconv-redgreen", "fconv-location", "canvas"):
        assert not any(f.endswith("tables.py") for f in _real(compute)), compute
    assert "padding.py" in _real("ppp")  # imported only indirectly (models / features)
    ppp_table = set(_rel(PKG, codedeps.table_files(PKG, "ppp")))
    assert "stages/ppp/tables.py" in ppp_table and "probes/pattern.py" not in ppp_table
    assert "stages/posenet/tables.py" not in ppp_table


def test_every_command_and_table_of_the_real_package_resolves():
    from padpos.stages import command_registry, table_registry

    for command in command_registry():
        assert codedeps.command_files(PKG, command), command
    assert codedeps.registered_tables(PKG) == table_registry()
    for name in table_registry():
        assert codedeps.table_files(PKG, name), name
