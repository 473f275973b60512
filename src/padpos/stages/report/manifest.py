"""Manifest of the report stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=90,
    commands=(
        Command("table", "one summary table over seeds (mean, std, n, ci95, n_failed) -> .csv/.md/.tex"),
        Command("figures-index", "write figures/all: the list of every figure built"),
        Command("environment", "write the installed packages (name==version a line): environment.txt"),
    ),
    tables=("cost",),
    config_key="tables",
)
