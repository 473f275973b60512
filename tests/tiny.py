"""The tiny synthetic data set and training run that the library tests share."""

from __future__ import annotations

from pathlib import Path

from padpos.data import prepare_data

# 16 px synthetic images: seconds to make, enough for every stage to run
DATA_SPEC = {
    "dataset": "synthetic",
    "path": None,
    "download_dir": "unused",
    "url": None,
    "image_size": 16,
    "num_train": 96,
    "num_test": 48,
    "seed": 3,
}
# two short epochs of a width-4 small_resnet, snapshots of epochs 0 and 1
TRAIN_SPEC = {
    "arch": "small_resnet",
    "padding": "zeros",
    "seed": 0,
    "epochs": 2,
    "batch_size": 32,
    "lr": 0.05,
    "width": 4,
    "snapshot_epochs": [0, 1],
}


def synthetic_data(dest: Path, **changes) -> Path:
    """Make the tiny data set (``DATA_SPEC`` with ``changes``) in ``dest``; its manifest path."""
    prepare_data({**DATA_SPEC, **changes}, dest)
    return Path(dest) / "manifest.json"
