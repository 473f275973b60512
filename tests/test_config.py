"""Config validation: defaults filled, and a bad config names the key (before any job runs)."""

import copy

import pytest
import yaml

from padpos.workflow.config import ConfigError, ConfigWarning, load_config, validate_config


def test_shipped_configs_are_valid(repo):
    for path in [repo / "config.yaml", *sorted((repo / "config").glob("*.yaml"))]:
        cfg = yaml.safe_load(path.read_text())
        if cfg.get("data", {}).get("dataset") == "imagefolder":
            cfg["data"]["path"] = str(repo)  # the real path is the user's; any folder will do
        validate_config(cfg)


def test_defaults_are_filled():
    cfg = validate_config({})
    assert cfg["study"] == "default"
    assert cfg["data"]["dataset"] == "synthetic"
    assert cfg["train"]["epochs"] >= 1
    assert "zeros" in cfg["paddings"]


@pytest.mark.parametrize(
    "change, key, hint",
    [
        ({"paddings": ["zeros", "mirror"]}, "paddings[1]", "allowed values: zeros, reflect"),
        ({"archs": ["resnet9000"]}, "archs[0]", "small_resnet"),
        ({"train": {"epochs": -1}}, "train.epochs", "minimum"),
        ({"data": {"dataset": "imagefolder", "path": "/no/such/folder"}}, "data.path", "does not exist"),
        ({"data": {"dataset": "imagefolder"}}, "data.path", "required"),
        ({"paddings": ["valid"], "archs": ["small_resnet"]}, "paddings", "residual"),
        ({"trian": {}}, "<top level>", "known keys"),
    ],
)
def test_bad_config_names_the_key(change, key, hint):
    with pytest.raises(ConfigError) as err:
        validate_config(copy.deepcopy(change))
    msg = str(err.value)
    assert f"'{key}'" in msg, msg
    assert hint in msg, msg


def test_load_config_reads_yaml(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("study: mini\nseeds: [3]\n")
    cfg = load_config(p)
    assert cfg["study"] == "mini" and cfg["seeds"] == [3]


# ---------------------------------------------------------------- command-line overrides
# Snakemake's --config hands nested values over as strings: seeds=[0,1] arrives as ['0', '1'].
@pytest.mark.parametrize(
    "override, key, expected",
    [
        ({"seeds": ["0", "1", "2"]}, ("seeds",), [0, 1, 2]),
        ({"train": {"epochs": "3"}}, ("train", "epochs"), 3),
        ({"train": {"lr": "0.1"}}, ("train", "lr"), 0.1),
        ({"train": {"lr": "1e-3"}}, ("train", "lr"), 0.001),
        ({"train": {"amp": "false", "augment": "True"}}, ("train", "amp"), False),
        ({"train": {"augment": "True"}}, ("train", "augment"), True),
        ({"posenet": {"num_test_images": "null"}}, ("posenet", "num_test_images"), None),
        ({"posenet": {"grid": "12"}}, ("posenet", "grid"), 12),
        ({"fconv": {"location": {"borders": ["0", "16"]}}}, ("fconv", "location", "borders"), [0, 16]),
        # a string where the schema allows strings stays a string
        ({"study": "007"}, ("study",), "007"),
        ({"paddings": ["zeros"]}, ("paddings",), ["zeros"]),
    ],
)
def test_command_line_strings_are_coerced_to_the_schema_type(override, key, expected):
    cfg = validate_config(copy.deepcopy(override))
    value = cfg
    for part in key:
        value = value[part]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    "override, key, hint",
    [
        ({"seeds": ["0", "x"]}, "seeds[1]", "is not of type 'integer'"),
        ({"train": {"epochs": "three"}}, "train.epochs", "is not of type 'integer'"),
        ({"train": {"epochs": "2.5"}}, "train.epochs", "is not of type 'integer'"),
        ({"train": {"epochs": "-1"}}, "train.epochs", "minimum"),
        ({"train": {"lr": "nan"}}, "train.lr", "is not of type 'number'"),
        ({"train": {"amp": "maybe"}}, "train.amp", "is not of type 'boolean'"),
        ({"paddings": ["zeros", "mirror"]}, "paddings[1]", "allowed values"),
        ({"train": {"epoch": "3"}}, "train", "known keys"),
    ],
)
def test_command_line_mistakes_are_still_refused_naming_the_key(override, key, hint):
    with pytest.raises(ConfigError) as err:
        validate_config(copy.deepcopy(override))
    msg = str(err.value)
    assert f"'{key}'" in msg and hint in msg, msg


def test_snapshot_epochs_beyond_a_shortened_training_are_dropped_with_a_warning():
    with pytest.warns(ConfigWarning, match=r"train.snapshot_epochs.*\[6\].*dropped"):
        cfg = validate_config({"train": {"epochs": "3", "snapshot_epochs": [0, 1, 3, 6]}})
    assert cfg["train"]["snapshot_epochs"] == [0, 1, 3]


def test_the_padding_free_arm_must_be_a_plain_arch():
    from padpos.workflow.config import ConfigError, validate_config

    with pytest.raises(ConfigError, match="'padding_free_arch': 'small_resnet' is not allowed"):
        validate_config({"padding_free_arch": "small_resnet"})
    assert validate_config({"padding_free_arch": "small_plain"})["padding_free_arch"] == "small_plain"
