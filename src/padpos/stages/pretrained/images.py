"""The natural images every pretrained model of a study is measured on, with real context.

One file per study (``pretrained-images``), so that every model, padding and probe sees
the very same pixels: uint8 training crops (N x 3 x S x S: the PosENet readout, the
location test's head), held-out crops (M x 3 x S x S: PosENet scores, location canvases,
PPP) and the held-out crops with ``context_px`` real pixels on every side (PPP's
reference; the crops are exactly their centres). Sources (config ``pretrained.images``):

- ``path`` (and optionally ``test_path``): any folder of images, flat or an ImageFolder
  tree (PASCAL-S, ECSSD, DUT-S, ...), searched recursively. Without ``test_path`` a seeded
  random subset of ``num_train + num_test`` files is split in two disjoint parts; with it
  the readout trains on ``path`` and is scored on ``test_path`` ([ISL20] trained on DUT-S
  and tested on PASCAL-S / ECSSD). Each image's shorter side is resized to ``S + 2 c``
  and its centre cropped to that square; the crop is its central S x S
  (:func:`padpos.data.resize_crop`).
- no path (the default, offline): random seeded crops of scikit-image's photographs
  (:func:`padpos.data.photos.photo_crops`), every photograph whose shorter side holds
  ``S + 2 c`` pixels unless ``photos`` names them.

Kept as pixels; each model normalises them its own way (:func:`normalised`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from padpos.io import ReportedError
from padpos.names import PHOTOS

FORMAT = 1


class ImagesError(ReportedError):
    """The configured images cannot be made (the message names the key)."""


def _to_uint8(pixels: torch.Tensor) -> torch.Tensor:
    return (pixels.clamp(0, 1) * 255).round().to(torch.uint8)


def fitting_photos(side: int, photos=None) -> list[str]:
    """The photographs to crop: ``photos``, or every one whose shorter side holds ``side`` px."""
    from padpos.data.photos import load_photo

    names = list(PHOTOS if photos is None else photos)
    small = {n: min(load_photo(n).shape[-2:]) for n in names}
    fitting = [n for n in names if small[n] >= side]
    if photos is not None and len(fitting) < len(names):
        bad = {n: small[n] for n in names if n not in fitting}
        raise ImagesError(f"config key 'pretrained.images.photos': {bad} have a shorter side below the "
                          f"{side} px that size + 2 x context_px needs")  # fmt: skip
    if not fitting:
        raise ImagesError(f"config key 'pretrained.images': no photograph holds size + 2 x context_px = {side} px; "
                          "lower images.size or images.context_px, or give images.path")  # fmt: skip
    return fitting


def image_files(folder: str | Path, key: str) -> list[Path]:
    """Every image file below ``folder`` (recursively, sorted); an error naming ``key``."""
    from padpos.data import IMAGE_EXTENSIONS

    folder = Path(folder)
    if not folder.is_dir():
        raise ImagesError(f"config key '{key}': folder {str(folder)!r} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise ImagesError(f"config key '{key}': {folder} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    return files


def _pick(files: list[Path], n: int, seed: int, stream: int, key: str) -> list[Path]:
    if n > len(files):
        raise ImagesError(f"config key '{key}': {n} images asked for, the folder has {len(files)}")
    order = np.random.default_rng([seed, stream]).permutation(len(files))[:n]
    return [files[i] for i in order]


def _folder_crops(files: list[Path], side: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    from padpos.data import read_rgb, resize_crop

    plus = torch.stack([resize_crop(read_rgb(f), side) for f in files])
    m = (side - size) // 2
    return plus[..., m : m + size, m : m + size].clone(), plus


def build_images(spec: dict) -> dict:
    """The image set of ``spec`` (the ``pretrained.images`` settings): a dict of uint8
    tensors ``train``, ``test``, ``test_plus`` and what they are (``source``, ``names``,
    ``size``, ``context_px``)."""
    from padpos.data.photos import photo_crops

    size, context = int(spec["size"]), int(spec["context_px"])
    n_train, n_test, seed = int(spec["num_train"]), int(spec["num_test"]), int(spec["seed"])
    side = size + 2 * context
    if spec.get("path"):
        train_files = image_files(spec["path"], "pretrained.images.path")
        if spec.get("test_path"):
            test_files = _pick(image_files(spec["test_path"], "pretrained.images.test_path"), n_test, seed, 1,
                               "pretrained.images.num_test")  # fmt: skip
            train_files = _pick(train_files, n_train, seed, 0, "pretrained.images.num_train")
        else:
            both = _pick(train_files, n_train + n_test, seed, 0, "pretrained.images.num_train + num_test")
            train_files, test_files = both[:n_train], both[n_train:]
        train, _ = _folder_crops(train_files, side, size)
        test, test_plus = _folder_crops(test_files, side, size)
        roots = {"train": Path(spec["path"]), "test": Path(spec.get("test_path") or spec["path"])}
        names = {"train": [str(f.relative_to(roots["train"])) for f in train_files],
                 "test": [str(f.relative_to(roots["test"])) for f in test_files]}  # fmt: skip
        source = "folder"
    else:
        photos = fitting_photos(side, spec.get("photos"))
        train, _ = photo_crops(n_train, size, context, seed, "train", photos)
        test_px, plus_px = photo_crops(n_test, size, context, seed, "test", photos)
        train, test_plus = _to_uint8(train), _to_uint8(plus_px)
        test = test_plus[..., context : context + size, context : context + size].clone()
        names = {"photos": photos}
        source = "photos"
    return {"format": FORMAT, "source": source, "names": names, "size": size, "context_px": context,
            "train": train.contiguous(), "test": test.contiguous(), "test_plus": test_plus.contiguous()}  # fmt: skip


def write_images(spec: dict, output: str | Path) -> None:
    """Build the image set and write it (``torch.save``, atomic) with its provenance beside it."""
    from padpos import runtime
    from padpos.io import save_torch

    started = time.time()
    images = build_images(spec)
    save_torch(output, images)
    runtime.write_provenance(
        runtime.provenance_path(output),
        runtime.provenance(spec, started, "cpu", source=images["source"], names=images["names"],
                           shapes={k: list(images[k].shape) for k in ("train", "test", "test_plus")}),
    )  # fmt: skip


@dataclass
class ImageSet:
    """The image set, normalised for one model: float32 ``train``, ``test`` and
    ``test_plus`` (``test`` is exactly the centre of ``test_plus``), their pixels and the
    normalisation used."""

    train: torch.Tensor
    test: torch.Tensor
    test_plus: torch.Tensor
    context_px: int
    mean: tuple
    std: tuple
    pixels: dict

    @property
    def size(self) -> int:
        return int(self.test.shape[-1])

    def context(self, margin: int) -> torch.Tensor:
        """The held-out crops with ``margin`` (<= context_px) px of context."""
        if margin > self.context_px:
            raise ValueError(f"{margin} px of context asked for, the images have {self.context_px}")
        cut = self.context_px - margin
        side = self.test_plus.shape[-1]
        return self.test_plus[..., cut : side - cut, cut : side - cut]


def read_images(path: str | Path) -> dict:
    from padpos.io import corrupt_file, load_torch

    images = load_torch(path, "pretrained image set", map_location="cpu", weights_only=True)
    if not isinstance(images, dict) or images.get("format") != FORMAT:
        raise corrupt_file(path, "pretrained image set", "is not an image set of this padpos version")
    return images


def normalised(images: dict, mean, std) -> ImageSet:
    """``images`` (from :func:`read_images`) as one model's inputs: (pixels - mean) / std."""
    from padpos.data import normalise

    return ImageSet(normalise(images["train"], mean, std), normalise(images["test"], mean, std),
                    normalise(images["test_plus"], mean, std), int(images["context_px"]), tuple(mean), tuple(std),
                    {k: images[k] for k in ("train", "test")})  # fmt: skip
