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


# an ImageFolder tree of photograph crops (padpos.data.photos: offline): one class per
# photograph, 96 px squares, JPEG in train/ and PNG in val/ (both decoders run)
TREE_CLASSES = ("astronaut", "coffee", "chelsea")
TREE_SIDE = 96


def photo_tree(root: Path, num_train: int = 12, num_test: int = 6) -> Path:
    """An ImageFolder tree in ``root``: train/<photo>/*.jpg and val/<photo>/*.png, each
    image a random crop of its class's photograph (deterministic); returns ``root``."""
    import numpy as np
    from PIL import Image

    from padpos.data.photos import photo_crops

    for split, n, suffix in (("train", num_train, ".jpg"), ("val", num_test, ".png")):
        for name in TREE_CLASSES:
            crops, _ = photo_crops(n, TREE_SIDE, 0, seed=5, split="train" if split == "train" else "test",
                                   photos=[name])  # fmt: skip
            folder = Path(root) / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i, crop in enumerate(crops):
                pixels = (crop.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}{suffix}", quality=90)
    return Path(root)
