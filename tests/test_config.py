"""Config validation: defaults filled, and a bad config names the key (before any job runs)."""

import copy

import pytest
import yaml

from padpos.config import ConfigError, load_config, validate_config


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
        ({"train": {"epochs": 2, "snapshot_epochs": [0, 5]}}, "train.snapshot_epochs", "beyond"),
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
