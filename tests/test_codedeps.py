"""Derived code dependencies (padpos.codedeps): which package files a command runs."""

import textwrap
from pathlib import Path

import pytest

from padpos import codedeps

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
        "cli.py": "from padpos.commands import REGISTRY\n",
        "commands/__init__.py": """
            REGISTRY = {"fit": ("padpos.commands.stage", "fit"), "draw": ("padpos.commands.stage", "draw"),
                        "other": ("padpos.commands.other", "other")}
        """,
        "commands/stage.py": """
            import argparse
            from padpos.commands import Command
            from padpos import helpers as h

            def _common(p):
                p.add_argument("--x")

            def configure_fit(p):
                _common(p)

            def run_fit(args):
                from padpos.science import fit  # lazy import
                fit()

            def configure_draw(p):
                _common(p)

            def run_draw(args):
                from ..plots.figure import draw  # relative, lazy
                draw(h.title())

            COMMANDS = {"fit": Command(configure_fit, run_fit), "draw": Command(configure_draw, run_draw)}
        """,
        "commands/other.py": "COMMANDS = {}\nfrom padpos import science\n",
        "science.py": """
            from padpos.core import kernel

            def fit():
                from padpos import deep  # lazy, inside a function
                return kernel()
        """,
        "core.py": "def kernel():\n    return 1\n",
        "deep.py": "from . import core\n",
        "helpers.py": "def title():\n    return 't'\n",
        "plots/__init__.py": "",
        "plots/figure.py": "from padpos.plots.style import look\n\ndef draw(t):\n    look()\n",
        "plots/style.py": "def look():\n    pass\n",
        "unused.py": "x = 1\n",
    })


def _rel(root, paths):
    return sorted(str(p.relative_to(root)) for p in paths)


def test_a_command_gets_its_transitive_imports_lazy_and_indirect_included(fake):
    # science.py imports core at module level and deep lazily; deep imports core relatively
    assert _rel(fake, codedeps.command_files(fake, "fit")) == [
        "commands/stage.py", "core.py", "deep.py", "science.py"]


def test_commands_sharing_a_module_get_only_their_own_imports(fake):
    # draw uses the module-level `helpers` import and a relative lazy import; not science
    assert _rel(fake, codedeps.command_files(fake, "draw")) == [
        "commands/stage.py", "helpers.py", "plots/__init__.py", "plots/figure.py", "plots/style.py"]


def test_dispatch_layer_and_unused_modules_are_not_dependencies(fake):
    for command in ("fit", "draw", "other"):
        files = _rel(fake, codedeps.command_files(fake, command))
        assert not {"__init__.py", "cli.py", "commands/__init__.py", "unused.py"} & set(files)


def test_extra_modules_and_unknown_command(fake):
    assert "unused.py" in _rel(fake, codedeps.command_files(fake, "draw", "padpos.unused"))
    with pytest.raises(KeyError, match="unknown command 'nope'"):
        codedeps.command_files(fake, "nope")


def test_table_builders_are_found_and_a_table_skips_the_other_tables_imports(tmp_path):
    root = _write(tmp_path, {
        "__init__.py": "",
        "commands/__init__.py": 'REGISTRY = {"table": ("padpos.commands.table", "t")}\n',
        "commands/table.py": """
            def run(args):
                from padpos.tables import build
            COMMANDS = {"table": Command(None, run)}
        """,
        "tables.py": """
            from padpos.io import write

            def register_table(name):
                return lambda f: f

            def build():
                pass

            def _a_helper(runs):
                from padpos.a import A
                return A

            @register_table("a")
            def a_table(runs):
                return _a_helper(runs)

            @register_table("b")
            def b_table(runs):
                from padpos.b import B
                return B
        """,
        "io.py": "", "a.py": "A = 1\n", "b.py": "B = 2\n",
    })
    assert codedeps.registered_tables(root) == {"a": "padpos.tables", "b": "padpos.tables"}
    assert _rel(root, codedeps.table_files(root, "a")) == ["a.py", "commands/table.py", "io.py", "tables.py"]
    assert _rel(root, codedeps.table_files(root, "b")) == ["b.py", "commands/table.py", "io.py", "tables.py"]
    with pytest.raises(KeyError, match="unknown table 'c'"):
        codedeps.table_files(root, "c")


# ---------------------------------------------------------------- the real package
def _real(command, *extra):
    return set(_rel(PKG, codedeps.command_files(PKG, command, *extra)))


def test_real_package_training_figures_and_tables_are_separate():
    train = _real("train")
    assert {"train.py", "models.py", "padding.py"} <= train
    assert not any(f.startswith(("plots/", "metrics/")) or f == "tables.py" for f in train)
    plot = _real("plot-training")
    assert "plots/training.py" in plot and "padding.py" not in plot and "train.py" not in plot
    assert "plots/ppp.py" not in plot  # another figure's code, though in the same commands module
    for compute in ("ppp", "posenet", "fconv-redgreen", "fconv-location"):
        assert "tables.py" not in _real(compute), compute  # editing table code re-runs tables only
    assert "padding.py" in _real("ppp")  # imported only indirectly (models / features)
    ppp_table = set(_rel(PKG, codedeps.table_files(PKG, "ppp")))
    assert "metrics/ppp.py" in ppp_table and "metrics/posenet.py" not in ppp_table


def test_every_command_and_table_resolves():
    for command in codedeps.command_registry(PKG):
        assert codedeps.command_files(PKG, command), command
    assert set(codedeps.registered_tables(PKG)) >= {"training", "ppp", "ppp_formation", "posenet",
                                                     "posenet_alone", "fconv_redgreen", "fconv_location"}
