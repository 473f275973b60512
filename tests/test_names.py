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
    assert props["paddings"]["items"]["enum"] == list(names.PADDING_SCHEMES)
    assert props["archs"]["items"]["enum"] == list(names.ARCHS)
    # the padding-free arm runs 'valid' convs: only archs without shortcuts
    assert props["padding_free_arch"]["enum"] == [None] + [a for a in names.ARCHS if a not in names.RESIDUAL_ARCHS]
    assert fconv["redgreen"]["properties"]["variants"]["items"]["enum"] == list(names.REDGREEN_VARIANTS)
    assert fconv["location"]["properties"]["paddings"]["items"]["enum"] == list(names.LOCATION_SCHEMES)


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
    assert style.PADDING_ORDER == list(names.PADDING_SCHEMES)
    assert redgreen.VARIANTS == names.REDGREEN_VARIANTS
    assert config.RESIDUAL_ARCHS == names.RESIDUAL_ARCHS


def test_names_import_no_torch():
    code = "import sys, padpos.names, padpos.workflow.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
