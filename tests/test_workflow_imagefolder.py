"""The paper-scale code path end to end, on the CPU: config/imagenet.yaml (ImageFolder data,
torchvision's ResNet-18, DataLoader workers, random-resized crops, snapshots, then PPP,
PosENet, the boundary-effect stage, the F-Conv tests and the reliability stage on it)
with every size cut down by config/test_imagefolder.yaml, on an ImageFolder tree the
test makes: 96 px crops of three scikit-image photographs, one class each, 12 train
(JPEG) and 6 val (PNG) images per class, trained at 64 px for one epoch.
"""

import json

import pandas as pd
import pytest
import yaml
from tiny import TREE_CLASSES, photo_tree
from workflow_helpers import copy_workflow, snakemake

pytestmark = pytest.mark.workflow

STUDY_FILES = ["config/imagenet.yaml", "config/test_imagefolder.yaml"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("wf_imagefolder"))
    tree = photo_tree(tmp_path_factory.mktemp("tree"))
    snakemake(work, "figures/all", "--configfile", *STUDY_FILES, "--config", f"data={json.dumps({'path': str(tree)})}")
    cfg = {}
    for name in STUDY_FILES:  # Snakemake merges the files key by key, the later one winning
        for key, value in yaml.safe_load((work / name).read_text()).items():
            cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return work, cfg


def test_every_table_and_figure_of_the_imagefolder_study_is_built(built):
    work, cfg = built
    assert cfg["study"] == "test_imagefolder" and cfg["data"]["dataset"] == "imagefolder"
    paths = [line.split("\t")[0] for line in (work / "figures/all").read_text().splitlines()[1:]]
    for kind in ("training", "ppp", "ppp_formation", "posenet", "canvas_location", "metric_reliability"):
        assert f"results/test_imagefolder/tables/{kind}.csv" in paths
    assert "figures/test_imagefolder/training.png" in paths
    assert all((work / p).stat().st_size > 0 for p in paths)


def test_training_ran_the_torchvision_net_on_augmented_imagefolder_data(built):
    work, cfg = built
    manifest = json.loads((work / "results/test_imagefolder/data/manifest.json").read_text())
    assert manifest["storage"] == "index" and manifest["classes"] == sorted(TREE_CLASSES)
    assert manifest["splits"]["train"]["size"] == 36 and manifest["image_size"] == 64
    for padding in cfg["paddings"]:
        run = work / "results/test_imagefolder/train/resnet18" / padding / "seed0"
        prov = json.loads((run / "provenance.json").read_text())
        assert prov["spec"]["arch"] == "resnet18" and prov["spec"]["augment"] is True
        # num_workers is a launch setting (changes no result): recorded apart from the spec
        assert prov["launch"]["num_workers"] == 1 and prov["device"].startswith("cpu")
        assert list(pd.read_csv(run / "metrics.csv")["epoch"]) == [0, 1]
        assert all((run / f"snapshot_e{e}.pt").is_file() for e in cfg["train"]["snapshot_epochs"])


def test_the_probes_measured_every_run_and_snapshot(built):
    work, cfg = built
    tables = work / "results/test_imagefolder/tables"
    ppp = pd.read_csv(tables / "ppp_formation.csv")
    assert set(ppp["padding"]) == set(cfg["paddings"]) and set(ppp["epoch"]) == {0, 1}
    assert set(pd.read_csv(tables / "posenet.csv")["padding"]) == set(cfg["paddings"])
    for padding in cfg["paddings"]:
        run = pd.read_csv(work / "results/test_imagefolder/posenet/resnet18" / padding / "seed0/posenet.csv")
        assert set(run["arch"]) == {"resnet18"}
    assert set(pd.read_csv(tables / "canvas_location.csv")["padding"]) == set(cfg["paddings"])
