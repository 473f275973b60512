"""Reading the raw sources of a data set: CIFAR python archives and ImageFolder trees."""

from __future__ import annotations

import os
import pickle
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from padpos.data.download import CIFAR
from padpos.data.splits import SPLIT_IDS, SPLITS

if TYPE_CHECKING:
    import torch


# ---------------------------------------------------------------- CIFAR
def subset_indices(n_available: int, n_wanted: int | None, seed: int, split: str, key: str) -> np.ndarray:
    """Sorted indices of a seeded random subset (all when ``n_wanted`` is None)."""
    if n_wanted is None:
        return np.arange(n_available)
    if n_wanted > n_available:
        raise ValueError(
            f"config key 'data.{key}': {n_wanted} images asked for, "
            f"the {split} split has {n_available}"
        )
    rng = np.random.default_rng([seed, SPLIT_IDS[split], 7])
    return np.sort(rng.permutation(n_available)[:n_wanted])


def read_cifar(archive: str | os.PathLike, dataset: str) -> dict[str, Any]:
    """Read a CIFAR python archive without extracting it.

    Returns ``{"classes": [...], "train": (uint8 N x 3 x 32 x 32, int64 labels), "test": ...}``.
    """
    import torch

    info = CIFAR[dataset]
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(
            f"CIFAR archive {archive} does not exist (run the download rule first)"
        )
    out: dict[str, Any] = {}
    with tarfile.open(archive) as tar:
        out["classes"] = list(_unpickle(tar, info["meta"], archive)[info["names_key"]])
        for split, members in info["members"].items():
            batches = [_unpickle(tar, m, archive) for m in members]
            data = np.concatenate([np.asarray(b["data"], dtype=np.uint8) for b in batches])
            labels = np.concatenate(
                [np.asarray(b[info["labels_key"]], dtype=np.int64) for b in batches]
            )
            images = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())
            out[split] = (images, torch.from_numpy(labels))
    return out


def _unpickle(tar: tarfile.TarFile, member: str, archive: Path) -> dict:
    try:
        fh = tar.extractfile(member)
    except KeyError:
        fh = None
    if fh is None:
        raise ValueError(
            f"CIFAR archive {archive} has no member {member!r}; is it the right archive?"
        )
    with fh:
        return pickle.load(fh, encoding="latin1")


def resize_uint8(images: "torch.Tensor", size: int) -> "torch.Tensor":
    """Resize square uint8 images to ``size`` (antialiased bilinear), in chunks."""
    import torch
    import torch.nn.functional as F

    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = []
    for chunk in images.split(1000):
        x = F.interpolate(
            chunk.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        out.append(x.round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out)


# ---------------------------------------------------------------- ImageFolder
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".ppm", ".tif", ".tiff"}
IMAGEFOLDER_TEST_DIRS = ("val", "test")
MEAN_STD_SAMPLE = 1000  # train images used for the mean / std of an ImageFolder data set


def _imagefolder_split_dir(root: Path, split: str) -> Path:
    names = ("train",) if split == "train" else IMAGEFOLDER_TEST_DIRS
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(
        f"ImageFolder {root}: no {' or '.join(n + '/' for n in names)} folder for the {split} split"
    )


def index_imagefolder(root: str | os.PathLike) -> dict[str, Any]:
    """File lists of an ImageFolder tree: ``{"classes", "train": [(relpath, label)], "test"}``.

    Classes are the sorted sub-folders of ``train/``; a class folder of ``val/``
    (or ``test/``) that train/ lacks is an error, naming it.
    """
    root = Path(root)
    train_dir = _imagefolder_split_dir(root, "train")
    classes = sorted(d.name for d in train_dir.iterdir() if d.is_dir())
    if not classes:
        raise ValueError(f"ImageFolder {train_dir} has no class folders")
    out: dict[str, Any] = {"classes": classes}
    for split in SPLITS:
        split_dir = _imagefolder_split_dir(root, split)
        unknown = sorted({d.name for d in split_dir.iterdir() if d.is_dir()} - set(classes))
        if unknown:
            raise ValueError(
                f"ImageFolder {split_dir}: class folders {unknown} are not in {train_dir}"
            )
        items = []
        for label, name in enumerate(classes):
            folder = split_dir / name
            if not folder.is_dir():
                continue
            for f in sorted(folder.rglob("*")):
                if f.suffix.lower() in IMAGE_EXTENSIONS and f.is_file():
                    items.append((f.relative_to(root).as_posix(), label))
        if not items:
            raise ValueError(
                f"ImageFolder {split_dir} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})"
            )
        out[split] = items
    return out
