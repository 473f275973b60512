"""Reading a prepared data set through its manifest: split names, :func:`load_split`
(map-style data set) and :func:`split_tensors` (the whole split in memory).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from padpos.data.download import file_digest
from padpos.data.pixels import normalise, read_rgb, resize_crop

if TYPE_CHECKING:
    import torch


SPLITS = ("train", "test")
SPLIT_IDS = {
    "train": 0,
    "test": 1,
}  # mixed into every per-image seed: the splits never share scenes
MANIFEST_FORMAT = 1


IN_MEMORY_LIMIT_BYTES = 2 << 30  # split_tensors refuses an ImageFolder split larger than this
_VERIFIED: dict[tuple, bool] = {}  # (path, size, mtime) of cache files already checksummed


def random_subset(n_available: int, n_wanted: int | None, seed: int, stream: int = 0) -> np.ndarray:
    """Sorted indices of a seeded random subset of ``n_wanted`` of ``n_available`` items
    (all of them when ``n_wanted`` is None or not smaller). Never "the first N": an
    ImageFolder split (and many archives) is sorted by class (docs/protocols.md 7). The
    subset depends only on (``seed``, ``stream``), so every network compared sees the
    same images."""
    if n_wanted is None or n_wanted >= n_available:
        return np.arange(n_available)
    if n_wanted < 0:
        raise ValueError(f"cannot draw {n_wanted} items")
    rng = np.random.default_rng([int(seed), int(stream), 31])
    return np.sort(rng.permutation(n_available)[:n_wanted])


def read_manifest(manifest_path: str | os.PathLike) -> dict:
    """The manifest of a prepared data set (an error names a missing or incomplete one)."""
    path = Path(manifest_path)
    if not path.is_file():
        raise FileNotFoundError(f"data manifest {path} does not exist (run the prepare_data rule)")
    manifest = json.loads(path.read_text())
    missing = {"dataset", "image_size", "num_classes", "mean", "std", "splits", "files"} - set(
        manifest
    )
    if missing:
        raise ValueError(
            f"data manifest {path} lacks the keys {sorted(missing)}; prepare the data again"
        )
    manifest["_dir"] = str(path.parent)
    return manifest


def _cache_path(manifest: dict, split: str) -> Path:
    """Path of a split's cache file, checked against the manifest's sha256 (once per process)."""
    if split not in manifest["splits"]:
        raise ValueError(
            f"unknown split {split!r}; the data set has {', '.join(manifest['splits'])}"
        )
    name = manifest["splits"][split]["file"]
    path = Path(manifest["_dir"]) / name
    if not path.is_file():
        raise FileNotFoundError(f"data cache file {path} (listed in the manifest) does not exist")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        actual = file_digest(path)
        if actual != manifest["files"][name]:
            raise ValueError(
                f"data cache file {path} is corrupt or stale: sha256 {actual}, the manifest "
                f"expects {manifest['files'][name]}; delete "
                f"{Path(manifest['_dir']) / 'manifest.json'} and prepare the data again"
            )
        _VERIFIED[key] = True
    return path


class _Split:
    """What every split exposes besides its items."""

    def __init__(self, manifest: dict, split: str):
        self.split = split
        self.dataset = manifest["dataset"]
        self.classes = list(manifest["classes"])
        self.num_classes = int(manifest["num_classes"])
        self.mean = list(manifest["mean"])
        self.std = list(manifest["std"])
        self.image_size = int(manifest["image_size"])


class TensorSplit(_Split):
    """A split held in memory as uint8 images (synthetic, CIFAR); items are normalised on access."""

    def __init__(self, manifest: dict, split: str):
        import torch

        super().__init__(manifest, split)
        cache = torch.load(_cache_path(manifest, split), weights_only=True)
        self.images, self.labels = cache["images"], cache["labels"]
        self.targets = self.labels.tolist()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return normalise(self.images[i], self.mean, self.std), int(self.labels[i])


class ImageFolderSplit(_Split):
    """A split read from image files on access: shorter side resized to image_size, centre crop."""

    def __init__(self, manifest: dict, split: str):
        super().__init__(manifest, split)
        index = json.loads(_cache_path(manifest, split).read_text())
        self.root = Path(index["root"])
        self.files = [self.root / rel for rel, _ in index["items"]]
        self.targets = [int(label) for _, label in index["items"]]

    def __len__(self) -> int:
        return len(self.files)

    def uint8(self, i: int) -> "torch.Tensor":
        return resize_crop(read_rgb(self.files[i]), self.image_size)

    def __getitem__(self, i: int):
        return normalise(self.uint8(i), self.mean, self.std), self.targets[i]


def load_split(manifest_path: str | os.PathLike, split: str):
    """A map-style data set of (float32 3 x H x W, normalised with the manifest's mean/std, label).

    Attributes: ``num_classes``, ``classes``, ``mean``, ``std``, ``image_size``, ``targets``.
    """
    manifest = read_manifest(manifest_path)
    if manifest.get("storage") == "index":
        return ImageFolderSplit(manifest, split)
    return TensorSplit(manifest, split)


class TooLargeForMemory(NotImplementedError):
    """A split is too large for :func:`split_tensors`; read it with :func:`load_split`."""


def split_tensors(
    manifest_path: str | os.PathLike, split: str
) -> tuple["torch.Tensor", "torch.Tensor"]:
    """The whole split as tensors: (float32 N x 3 x H x W normalised, int64 labels).

    For data kept in memory (synthetic, CIFAR). An ImageFolder split is read file
    by file when it takes at most IN_MEMORY_LIMIT_BYTES as float32; a larger one
    raises :class:`TooLargeForMemory` (a NotImplementedError: callers fall back to
    :func:`load_split` and a DataLoader).
    """
    import torch

    ds = load_split(manifest_path, split)
    if isinstance(ds, TensorSplit):
        return normalise(ds.images, ds.mean, ds.std), ds.labels.clone()
    need = len(ds) * 3 * ds.image_size**2 * 4
    if need > IN_MEMORY_LIMIT_BYTES:
        raise TooLargeForMemory(
            f"the {split} split of {ds.root} would take {need / 2**30:.1f} GiB in memory "
            f"(limit {IN_MEMORY_LIMIT_BYTES / 2**30:.0f} GiB); use load_split() with a DataLoader"
        )
    images = torch.stack([ds.uint8(i) for i in progress(range(len(ds)), f"read {split}")])
    return normalise(images, ds.mean, ds.std), torch.tensor(ds.targets, dtype=torch.int64)


def progress(items, desc: str):
    from tqdm import tqdm

    return tqdm(items, desc=desc, file=sys.stderr)
