"""The one home of conversions between image files, pixels and model inputs.

Three representations of an image appear in the project:

- uint8 pixels, 3 x H x W in [0, 255] (the data caches, image files);
- float pixels in [0, 1] (the F-Conv canvases, PosENet's synthetic inputs);
- model inputs: float32 normalised per channel with the data set's mean and std
  (``(pixels - mean) / std``, so zero padding is the data set's mean colour).

Every conversion between them lives here; ``torch`` is imported inside functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    import torch


def _channels(values: Sequence[float], dtype) -> "torch.Tensor":
    """Per-channel values shaped C x 1 x 1 (broadcasts over C x H x W and N x C x H x W)."""
    import torch

    return torch.as_tensor(values, dtype=dtype)[:, None, None]


def normalise(
    images: "torch.Tensor", mean: Sequence[float], std: Sequence[float]
) -> "torch.Tensor":
    """uint8 images (... x 3 x H x W) -> float32 model inputs, per channel (x / 255 - mean) / std."""
    return normalise_pixels(uint8_to_pixels(images), mean, std)


def normalise_pixels(
    pixels: "torch.Tensor", mean: Sequence[float], std: Sequence[float]
) -> "torch.Tensor":
    """Float pixels in [0, 1] (... x 3 x H x W) -> model inputs: per channel (x - mean) / std."""
    import torch

    return (pixels - _channels(mean, torch.float32)) / _channels(std, torch.float32)


def to_pixels(
    images: "torch.Tensor", mean: Sequence[float], std: Sequence[float]
) -> "torch.Tensor":
    """Model inputs back to float pixels (inverse of :func:`normalise_pixels`; not clamped)."""
    return images * _channels(std, images.dtype) + _channels(mean, images.dtype)


def uint8_to_pixels(images: "torch.Tensor") -> "torch.Tensor":
    """uint8 pixels -> float32 pixels in [0, 1]."""
    import torch

    return images.to(torch.float32) / 255.0


def open_rgb(path: Path):
    """An image file as an RGB PIL image (the file is closed on return)."""
    from PIL import Image

    with Image.open(path) as img:
        return img.convert("RGB")


def resize_crop(img, side: int) -> "torch.Tensor":
    """Resize a PIL image's shorter side to ``side``, centre-crop: uint8 3 x side x side."""
    import torch
    from PIL import Image

    w, h = img.size
    scale = side / min(w, h)
    new_w, new_h = max(side, round(w * scale)), max(side, round(h * scale))
    img = img.resize((new_w, new_h), Image.BILINEAR)
    left, top = (new_w - side) // 2, (new_h - side) // 2
    img = img.crop((left, top, left + side, top + side))
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()
