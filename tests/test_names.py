"""padpos.names: the one list of scheme, conv-type and arch names, torch-free,
and the config schema's enums equal to it."""

import subprocess
import sys

import yaml

from padpos import names


def _schema(repo):
    return yaml.safe_load((repo / "workflow/schemas/config.schema.yaml").read_text())


def test_schema_enums_equal_the_names(repo):
    props = _schema(repo)["properties"]
    fconv = props["fconv"]["properties"]
    defs = _schema(repo)["$defs"]
    assert defs["padding_scheme"]["enum"] == list(names.PADDING_SCHEMES)
    assert defs["arch"]["enum"] == list(names.ARCHS)
    assert props["paddings"]["items"] == {"$ref": "#/$defs/padding_scheme"}
    assert props["archs"]["items"] == {"$ref": "#/$defs/arch"}
    # the padding-free arm runs 'valid' convs: only archs without shortcuts
    assert props["padding_free_arch"]["enum"] == [None] + [a for a in names.ARCHS if a not in names.RESIDUAL_ARCHS]
    assert fconv["redgreen"]["properties"]["variants"]["items"]["enum"] == list(names.REDGREEN_VARIANTS)
    assert fconv["location"]["properties"]["paddings"]["items"]["enum"] == list(names.LOCATION_SCHEMES)


def _enums(node, path=""):
    """(path, enum) of every enum in a schema node, recursively."""
    if isinstance(node, dict):
        if "enum" in node:
            yield path, node["enum"]
        for key, value in node.items():
            yield from _enums(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _enums(value, f"{path}/{i}")


def test_the_schema_writes_the_scheme_and_arch_lists_once(repo):
    """Every full list of schemes / archs is a $ref to $defs (a subset, such as the
    location test's schemes, is its own enum, checked above)."""
    full = {tuple(names.PADDING_SCHEMES), tuple(names.ARCHS)}
    where = [path for path, enum in _enums(_schema(repo)) if tuple(enum) in full]
    assert where == ["/$defs/padding_scheme", "/$defs/arch"]


def test_a_scheme_outside_the_list_is_refused_by_name(repo):
    from padpos.workflow.config import validate_config

    import pytest

    with pytest.raises(Exception, match="mirror"):
        validate_config({"paddings": ["zeros", "mirror"]}, repo / "workflow/schemas/config.schema.yaml")


def test_the_default_red_green_test_sweeps_every_variant(repo):
    variants = _schema(repo)["properties"]["fconv"]["properties"]["redgreen"]["properties"]["variants"]
    assert variants["default"] == list(names.REDGREEN_VARIANTS)


def test_names_are_consistent():
    assert set(names.SAME_SIZE_SCHEMES).isdisjoint(names.SIZE_CHANGING_SCHEMES)
    assert set(names.RESIDUAL_ARCHS) <= set(names.ARCHS)
    assert names.conv_type("valid") == "V-Conv" and names.conv_type("full") == "F-Conv"
    assert {names.conv_type(s) for s in names.SAME_SIZE_SCHEMES} == {"S-Conv"}
    for scheme, pad in names.REDGREEN_VARIANTS.values():
        assert scheme in names.PADDING_SCHEMES and pad in (0, 1, 2)


def test_readers_share_the_names():
    from padpos import padding
    from padpos import plotting as style
    from padpos.stages.fconv_redgreen import redgreen
    from padpos.workflow import config

    assert padding.SCHEMES == names.PADDING_SCHEMES
    assert tuple(padding.SCHEME_TABLE) == names.PADDING_SCHEMES  # one row per scheme, same order
    assert style.PADDING_ORDER == list(names.PADDING_SCHEMES)
    assert redgreen.VARIANTS == names.REDGREEN_VARIANTS
    assert config.RESIDUAL_ARCHS == names.RESIDUAL_ARCHS


def test_names_import_no_torch():
    code = "import sys, padpos.names, padpos.workflow.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
