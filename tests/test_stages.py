"""The stage folders: manifests and code agree, the layers import only downwards, the
workflow plumbing stays out of the science, defaults live in one place (checked here)."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import padpos
from padpos.stages import manifests, stage_names, tables_module
from padpos.stages.manifest import table_function

PACKAGE = Path(padpos.__file__).parent
REPO = PACKAGE.parents[1]


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


def _rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def _is_command_layer(path: Path) -> bool:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] in ("cli.py", "__main__.py", "workflow") or (
        rel.parts[0] == "stages" and rel.name == "commands.py"
    )


def _is_shared_block(path: Path) -> bool:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] not in ("stages", "workflow", "cli.py", "__main__.py", "__init__.py")


def test_the_scan_sees_an_import_inside_a_function(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from padpos.workflow import codedeps\n    import argparse\n")
    assert {"padpos.workflow", "padpos.workflow.codedeps", "argparse"} <= _imported_modules(path)


def test_no_science_module_imports_the_command_line_or_the_workflow_plumbing():
    """Stage science, tables, figures, manifests and the shared building blocks import
    neither argparse, the CLI nor padpos.workflow (config validation, code dependencies,
    the job-error summary): only the Snakefile and the command layer do."""
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if _is_command_layer(path):
            continue
        bad = {m for m in _imported_modules(path)
               if m == "argparse" or m.startswith(("padpos.cli", "padpos.workflow"))}  # fmt: skip
        if bad:
            offenders[_rel(path)] = sorted(bad)
    assert not offenders, f"science modules importing the command line / plumbing: {offenders}"


def test_the_shared_building_blocks_import_no_stage():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if _is_shared_block(path):
            bad = {m for m in _imported_modules(path) if m.startswith("padpos.stages")}
            if bad:
                offenders[_rel(path)] = sorted(bad)
    assert not offenders, f"shared building blocks importing a stage: {offenders}"


# the stage that measures the others (their speed) may import their science
MAY_IMPORT_OTHER_STAGES = ("bench",)


def _other_stages_imported(path: Path) -> set[str]:
    """The other stages' modules that ``path`` (a module under ``stages/<stage>/``) imports
    (the registry ``padpos.stages`` and the manifest types are no stage)."""
    own = path.relative_to(PACKAGE / "stages").parts[0]
    bad = set()
    for name in _imported_modules(path):
        parts = name.split(".")
        if parts[:2] == ["padpos", "stages"] and len(parts) > 2 and parts[2] not in (own, "manifest"):
            if (PACKAGE / "stages" / parts[2]).is_dir():
                bad.add(".".join(parts[:4]))
    return bad


def test_no_stage_imports_another_stages_science():
    """A stage imports the shared probes (padpos.probes) and building blocks, never another
    stage's modules: a reader of one stage reads no other first (the bench stage excepted)."""
    offenders = {}
    for path in sorted((PACKAGE / "stages").glob("*/*.py")):
        if path.parent.name not in MAY_IMPORT_OTHER_STAGES and (bad := _other_stages_imported(path)):
            offenders[_rel(path)] = sorted(bad)
    assert not offenders, f"stage modules importing another stage (move the shared part to padpos.probes): {offenders}"


def test_the_stage_import_check_sees_a_lazy_import_of_another_stage(tmp_path, monkeypatch):
    path = PACKAGE / "stages" / "ppp" / "x.py"
    monkeypatch.setattr(Path, "read_text", lambda self: "def f():\n    from padpos.stages.posenet.figures import g\n")
    assert _other_stages_imported(path) == {"padpos.stages.posenet.figures"}


def test_the_location_test_is_defined_once():
    """Its canvases, offsets, pooled features, head and constants live in padpos.probes.location
    only (they were written three times, kept equal by comments)."""
    names = ("corner_canvases", "corner_offset", "pooled_features", "pooled_taps",
             "fit_head", "location_test", "feature_scaling", "CORNER_OFFSET", "CORNER_STEP", "HEAD_L2")  # fmt: skip
    where: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.parse(path.read_text(), filename=str(path)).body:
            defined = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else [
                getattr(target, "id", None) for target in getattr(node, "targets", [])]  # fmt: skip
            for name in set(defined) & set(names):
                where.setdefault(name, []).append(_rel(path))
    assert {name: files for name, files in where.items() if files != ["probes/location.py"]} == {}


def test_manifests_and_stage_packages_compute_nothing():
    """Manifests import only the manifest types; a stage's __init__.py is a docstring (the
    code-dependency scan treats both as dispatch: editing them re-runs no job)."""
    for stage in stage_names():
        folder = PACKAGE / "stages" / stage
        assert _imported_modules(folder / "manifest.py") <= {
            "__future__", "__future__.annotations", "padpos.stages.manifest",
            "padpos.stages.manifest.Command", "padpos.stages.manifest.Manifest"}, stage  # fmt: skip
        body = ast.parse((folder / "__init__.py").read_text()).body
        assert len(body) == 1 and isinstance(body[0].value, ast.Constant), f"{stage}/__init__.py"


def test_every_declared_table_has_its_builder_and_every_builder_is_declared():
    for stage, manifest in manifests().items():
        path = PACKAGE / "stages" / stage / "tables.py"
        if not manifest.tables:
            assert not path.exists() or "def table_" not in path.read_text(), stage
            continue
        module = importlib.import_module(tables_module(stage))
        defined = {n for n in dir(module) if n.startswith("table_") and callable(getattr(module, n))}
        assert defined == {table_function(t) for t in manifest.tables}, stage


def test_every_stage_with_tables_has_a_rule_file_and_every_rule_file_is_a_stage():
    rules = {p.stem for p in (REPO / "workflow" / "rules").glob("*.smk")} - {"common"}
    assert rules <= set(stage_names()), f"rule files without a stage folder: {rules - set(stage_names())}"
    for stage, manifest in manifests().items():
        if manifest.tables:
            assert stage in rules, f"stage {stage} declares tables but has no workflow/rules/{stage}.smk"


def test_every_table_has_a_report_caption():
    """The `table` rule includes workflow/report/<table>_table.rst in `snakemake --report`
    (a missing one stops the DAG: here it is named at once)."""
    from padpos.stages import table_registry

    missing = [t for t in table_registry() if not (REPO / "workflow" / "report" / f"{t}_table.rst").is_file()]
    assert not missing, f"tables without a caption workflow/report/<table>_table.rst: {missing}"


def test_registries_and_plumbing_import_no_torch():
    code = ("import sys, padpos.stages as s, padpos.workflow.config, padpos.workflow.codedeps, "
            "padpos.workflow.job_errors, padpos.software as sw; s.command_registry(); s.table_registry(); "
            "sw.packages_sha256(); "
            "print(sorted(m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- defaults in one place
def _schema_section(key: str) -> dict:
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    for part in key.split("."):
        schema = schema["properties"][part]
    return schema


def _schema_defaults(section: dict) -> dict:
    """Each property's default; a nested object without one gets its properties' defaults."""
    out = {}
    for name, prop in section.get("properties", {}).items():
        if prop.get("type") == "object" and "properties" in prop:
            out[name] = {**prop.get("default", {}), **_schema_defaults(prop)}
        elif "default" in prop:
            out[name] = prop["default"]
    return out


@pytest.mark.parametrize("stage", [s for s, m in manifests().items() if m.defaults])
def test_the_code_defaults_of_a_stage_are_the_schemas(stage):
    """A stage's code defaults (what a hand-written --spec falls back to) equal the config
    schema's defaults (what a study gets): the same value wherever both define a key,
    and no code default the schema does not know."""
    manifest = manifests()[stage]
    module, name = manifest.defaults.split(":")
    module = module if "." in module else f"padpos.stages.{stage}.{module}"  # a probe's or the stage's own
    code = getattr(importlib.import_module(module), name)
    schema = _schema_defaults(_schema_section(manifest.config_key))
    unknown = sorted(set(code) - set(schema))
    assert not unknown, f"{stage}: code defaults {unknown} are not in the schema's {manifest.config_key}"
    differ = {k: (code[k], schema[k]) for k in code if code[k] != schema[k]}
    assert not differ, f"{stage}: code default != schema default (code, schema): {differ}"


def test_the_defaults_check_fails_on_a_drifted_default(monkeypatch):
    from padpos.stages.train import training

    monkeypatch.setitem(training.DEFAULTS, "epochs", training.DEFAULTS["epochs"] + 1)
    with pytest.raises(AssertionError, match="epochs"):
        test_the_code_defaults_of_a_stage_are_the_schemas("train")
