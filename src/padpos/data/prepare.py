"""``prepare-data``: a study's data set as cache files plus ``manifest.json`` (written last)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from padpos.data.download import CIFAR, file_digest
from padpos.data.pixels import read_rgb, resize_crop
from padpos.data.sources import (
    MEAN_STD_SAMPLE,
    index_imagefolder,
    read_cifar,
    resize_uint8,
    subset_indices,
)
from padpos.data.splits import MANIFEST_FORMAT, SPLITS, progress
from padpos.data.synthetic import SHAPES, render_in_chunks
from padpos.io import save_torch, write_json


def _channel_mean_std(batches) -> tuple[list[float], list[float]]:
    """Per-channel mean and std (population) of uint8 image batches, on the [0, 1] scale."""
    import torch

    total = torch.zeros(3, dtype=torch.float64)
    total_sq = torch.zeros(3, dtype=torch.float64)
    count = 0
    for x in batches:
        x = x.to(torch.float64) / 255.0
        total += x.sum(dim=(0, 2, 3))
        total_sq += (x * x).sum(dim=(0, 2, 3))
        count += x.shape[0] * x.shape[2] * x.shape[3]
    if count == 0:
        raise ValueError("cannot compute the mean / std of an empty train split")
    mean = total / count
    std = (total_sq / count - mean * mean).clamp(min=0).sqrt()
    return mean.tolist(), std.tolist()


def prepare_data(spec: dict, out_dir: str | os.PathLike) -> dict:
    """Build the cache of a study's data set in ``out_dir`` and write ``manifest.json`` last.

    ``spec`` is the study's ``data:`` config (defaults filled). Returns the manifest.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset = spec.get("dataset", "synthetic")
    builders = {
        "synthetic": _prepare_synthetic,
        "cifar10": _prepare_cifar,
        "cifar100": _prepare_cifar,
        "imagefolder": _prepare_imagefolder,
    }
    if dataset not in builders:
        raise ValueError(
            f"config key 'data.dataset': unknown data set {dataset!r}; "
            f"allowed: {', '.join(builders)}"
        )
    manifest = builders[dataset](spec, out_dir)
    manifest.update(
        format=MANIFEST_FORMAT,
        dataset=dataset,
        image_size=int(spec["image_size"]),
        num_classes=len(manifest["classes"]),
        spec=spec,
        files={name: file_digest(out_dir / name) for name in _cache_files(manifest)},
    )
    write_json(out_dir / "manifest.json", manifest)
    return manifest


def _cache_files(manifest: dict) -> list[str]:
    return [manifest["splits"][s]["file"] for s in SPLITS]


def _prepare_synthetic(spec: dict, out_dir: Path) -> dict:
    size, seed = int(spec["image_size"]), int(spec["seed"])
    splits, stats = {}, None
    for split, key in (("train", "num_train"), ("test", "num_test")):
        n = spec.get(key)
        if n is None:
            raise ValueError(f"config key 'data.{key}': synthetic data needs a number of images")
        images, labels = render_in_chunks(seed, split, int(n), size)
        if split == "train":
            stats = _channel_mean_std(images.split(1000))
        splits[split] = {"size": int(n), "file": _save_split(out_dir, split, images, labels)}
    return {
        "classes": list(SHAPES),
        "mean": stats[0],
        "std": stats[1],
        "splits": splits,
        "storage": "tensors",
        "seed": seed,
    }


def _save_split(out_dir: Path, split: str, images, labels) -> str:
    """Write one split's uint8 images and int64 labels as ``<split>.pt``; return the file name."""
    import torch

    name = f"{split}.pt"
    save_torch(out_dir / name, {"images": images.contiguous(), "labels": labels.to(torch.int64)})
    return name


def _prepare_cifar(spec: dict, out_dir: Path) -> dict:
    dataset, size, seed = spec["dataset"], int(spec["image_size"]), int(spec["seed"])
    archive = Path(spec.get("download_dir", "resources/downloads")) / CIFAR[dataset]["filename"]
    raw = read_cifar(archive, dataset)
    splits, stats = {}, None
    for split, key in (("train", "num_train"), ("test", "num_test")):
        images, labels = raw[split]
        chosen = subset_indices(len(labels), spec.get(key), seed, split, key)
        images = resize_uint8(images[chosen], size)
        labels = labels[chosen]
        if split == "train":
            stats = _channel_mean_std(images.split(1000))
        splits[split] = {
            "size": len(chosen),
            "file": _save_split(out_dir, split, images, labels),
            "source_indices_sha256": hashlib.sha256(chosen.astype(np.int64).tobytes()).hexdigest(),
        }
    return {
        "classes": raw["classes"],
        "mean": stats[0],
        "std": stats[1],
        "splits": splits,
        "storage": "tensors",
        "seed": seed,
        "source": {"archive": str(archive), "md5": CIFAR[dataset]["md5"]},
    }


def _prepare_imagefolder(spec: dict, out_dir: Path) -> dict:
    if not spec.get("path"):
        raise ValueError("config key 'data.path': required when data.dataset is 'imagefolder'")
    root = Path(spec["path"]).resolve()
    size, seed = int(spec["image_size"]), int(spec["seed"])
    index = index_imagefolder(root)
    splits, chosen_items = {}, {}
    for split, key in (("train", "num_train"), ("test", "num_test")):
        chosen = subset_indices(len(index[split]), spec.get(key), seed, split, key)
        chosen_items[split] = [index[split][i] for i in chosen]
        name = f"index_{split}.json"
        write_json(out_dir / name, {"root": str(root), "items": chosen_items[split]})
        splits[split] = {"size": len(chosen), "file": name}
    train_items = chosen_items["train"]
    sample = subset_indices(len(train_items), min(MEAN_STD_SAMPLE, len(train_items)), seed, "train", "")
    mean, std = _channel_mean_std(
        resize_crop(read_rgb(root / train_items[i][0]), size)[None]
        for i in progress(sample, "mean/std")
    )
    return {
        "classes": index["classes"],
        "mean": mean,
        "std": std,
        "splits": splits,
        "storage": "index",
        "seed": seed,
        "root": str(root),
    }
