"""What a stage's manifest says (torch-free): its commands, its tables, its config key.

Every stage folder ``padpos/stages/<stage>/`` has a ``manifest.py`` that defines
``MANIFEST = Manifest(...)``. The manifest is the one place where a stage's command
and table names are written; everything else is derived from it:

- the command registry of ``padpos --help`` and the dispatcher (:mod:`padpos.cli`);
  a command ``my-command`` is the pair of functions ``configure_my_command(parser)``
  and ``run_my_command(args)`` in the stage's ``commands.py``;
- the table registry: a table ``my_table`` is built by the function
  ``table_my_table(runs)`` in the stage's ``tables.py`` (``padpos table my_table``);
- what the Snakefile needs: the rule files (``workflow/rules/<stage>.smk``), the
  table names the ``table`` rule may build, and each command's code files
  (:mod:`padpos.workflow.codedeps`).

``tests/test_stages.py`` checks that the functions and the manifests agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Command:
    """One ``padpos <name>`` command.

    ``computes``: a torch computation (training, probes, bench): the dispatcher tunes
    the CPU allocator first (:func:`padpos.runtime.tune_cpu_allocator`); tables and
    figures do not need it."""

    name: str
    help: str
    computes: bool = False

    @property
    def function_suffix(self) -> str:
        """``my-command`` -> ``my_command``: the stem of its two functions."""
        return self.name.replace("-", "_")

    @property
    def configure(self) -> str:
        return f"configure_{self.function_suffix}"

    @property
    def run(self) -> str:
        return f"run_{self.function_suffix}"


@dataclass(frozen=True)
class Manifest:
    """A stage: its commands, the tables it builds, the config section it reads and
    where the code keeps that section's defaults (``"module:NAME"``: a module of the stage,
    or a dotted module path such as ``"padpos.probes.readout:DEFAULTS"``;
    ``tests/test_stages.py`` checks them against the schema's defaults)."""

    # where the stage stands in the data flow: commands are listed in this order
    order: int = 0
    commands: tuple[Command, ...] = ()
    tables: tuple[str, ...] = ()
    config_key: str | None = None
    defaults: str | None = None
    # filled in by padpos.stages when the manifest is read
    stage: str = field(default="", compare=False)


def table_function(name: str) -> str:
    """The builder function of table ``name`` in its stage's ``tables.py``."""
    return f"table_{name}"


__all__ = ["Command", "Manifest", "table_function"]
