"""Context crops, the reference of the PPP metric: the same crops with a margin of
real context around them (``x_plus[..., m:m+H, m:m+W] == x``).
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Sequence

import numpy as np

from padpos.data.pixels import normalise, read_rgb, resize_crop
from padpos.data.splits import SPLIT_IDS, ImageFolderSplit, read_manifest, TensorSplit
from padpos.data.synthetic import render_scenes

if TYPE_CHECKING:
    import torch


def context_crops(
    manifest_path: str | os.PathLike, split: str, indices: Sequence[int], margin: int
) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Crops and the same crops with ``margin`` pixels of real context on every side.

    Returns normalised float32 ``(x, x_plus)``: x is N x 3 x H x W, x_plus is
    N x 3 x (H+2m) x (W+2m), and ``x_plus[..., m:m+H, m:m+W] == x`` exactly.
    Synthetic scenes are re-rendered with a wider field of view (x equals the
    training images); CIFAR images are surrounded by a mosaic of other images of
    the split; ImageFolder crops take the context from the source image resized
    so that its shorter side is H + 2m (x is then that image's central crop), or
    a mosaic when the source is smaller than H + 2m.
    """
    import torch

    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    manifest = read_manifest(manifest_path)
    indices = [int(i) for i in indices]
    n_split = int(manifest["splits"][split]["size"])
    bad = [i for i in indices if not 0 <= i < n_split]
    if bad:
        raise IndexError(f"indices {bad[:5]} are outside the {split} split (size {n_split})")
    if manifest["dataset"] == "synthetic":
        x_plus, _ = render_scenes(
            int(manifest["seed"]), split, indices, int(manifest["image_size"]), margin
        )
    elif manifest.get("storage") == "index":
        x_plus = _imagefolder_context(manifest, split, indices, margin)
    else:
        ds = TensorSplit(manifest, split)
        x_plus = torch.stack(
            [_mosaic(manifest, split, i, margin, ds.images.__getitem__) for i in indices]
        )
    x_plus = normalise(x_plus, manifest["mean"], manifest["std"])
    size = int(manifest["image_size"])
    x = x_plus[..., margin : margin + size, margin : margin + size].clone()
    return x, x_plus


def mosaic_neighbours(seed: int, split: str, index: int, n_split: int, count: int) -> np.ndarray:
    """The other images of the split that surround image ``index`` in its mosaic (deterministic)."""
    if n_split == 1:
        return np.full(count, index)
    rng = np.random.default_rng([seed, SPLIT_IDS[split], index, 99])
    # distinct neighbours while the split has enough images, then with repetition
    picks = rng.choice(n_split - 1, size=count, replace=count > n_split - 1)
    return picks + (picks >= index)  # skip the centre image itself


def _mosaic(manifest: dict, split: str, index: int, margin: int, get_uint8) -> "torch.Tensor":
    """Image ``index`` at the centre of a grid of other images of the split, cropped to H+2m."""
    import torch

    centre = get_uint8(index)
    _, h, w = centre.shape
    k = max(math.ceil(margin / h), math.ceil(margin / w))  # rings of tiles needed
    side = 2 * k + 1
    neighbours = iter(
        mosaic_neighbours(
            int(manifest["seed"]),
            split,
            index,
            int(manifest["splits"][split]["size"]),
            side * side - 1,
        ).tolist()
    )
    canvas = torch.empty(3, side * h, side * w, dtype=torch.uint8)
    for row in range(side):
        for col in range(side):
            tile = centre if (row, col) == (k, k) else get_uint8(next(neighbours))
            canvas[:, row * h : (row + 1) * h, col * w : (col + 1) * w] = tile
    return canvas[
        :, k * h - margin : (k + 1) * h + margin, k * w - margin : (k + 1) * w + margin
    ].clone()


def _imagefolder_context(
    manifest: dict, split: str, indices: list[int], margin: int
) -> "torch.Tensor":
    import torch

    ds = ImageFolderSplit(manifest, split)
    side = ds.image_size + 2 * margin
    crops = []
    for i in indices:
        img = read_rgb(ds.files[i])
        if min(img.shape[-2:]) >= side:
            crops.append(resize_crop(img, side))  # real surrounding pixels, never upsampled
        else:
            crops.append(_mosaic(manifest, split, i, margin, ds.uint8))
    return torch.stack(crops)
