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
    """Float pixels in [0, 1] (... x 3 x H x W) -> model inputs: per channel (x - mean) / std
    (on the pixels' device)."""
    import torch

    m, s = (_channels(v, torch.float32).to(pixels.device) for v in (mean, std))
    return (pixels - m) / s


def to_pixels(
    images: "torch.Tensor", mean: Sequence[float], std: Sequence[float]
) -> "torch.Tensor":
    """Model inputs back to float pixels (inverse of :func:`normalise_pixels`; not clamped)."""
    return images * _channels(std, images.dtype) + _channels(mean, images.dtype)


def uint8_to_pixels(images: "torch.Tensor") -> "torch.Tensor":
    """uint8 pixels -> float32 pixels in [0, 1]."""
    import torch

    return images.to(torch.float32) / 255.0


# read by torchvision.io (libjpeg-turbo / libpng / libwebp straight into a tensor): measured
# 2x faster than PIL on ImageNet-sized JPEGs, 1.4x on PNGs (docs/data.md, "ImageFolder");
# other formats (BMP, PPM, TIFF), any file torchvision cannot decode, and a torchvision
# without image decoders (deprecated in 0.29 for TorchCodec's) are read with PIL
TORCHVISION_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})


def read_rgb(path: str | Path) -> "torch.Tensor":
    """An image file as RGB uint8 pixels, 3 x H x W (grey, palette, alpha and CMYK
    images converted to RGB; 16-bit images scaled to 8 bits)."""
    import torch

    path = Path(path)
    if path.suffix.lower() in TORCHVISION_SUFFIXES:
        try:
            from torchvision.io import ImageReadMode, decode_image, read_file
            from torchvision.transforms.v2.functional import to_dtype

            image = decode_image(read_file(str(path)), mode=ImageReadMode.RGB)
        except (ImportError, RuntimeError):
            pass  # e.g. a BMP named .jpg: PIL tells by its content (or names the file)
        else:
            return image if image.dtype == torch.uint8 else to_dtype(image, torch.uint8, scale=True)
    from PIL import Image

    with Image.open(path) as img:
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1).contiguous()


def resize_crop(image: "torch.Tensor", side: int) -> "torch.Tensor":
    """uint8 pixels (3 x H x W) with the shorter side resized to ``side`` (bilinear,
    antialiased: torchvision.transforms.v2), centre-cropped: uint8 3 x side x side."""
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2.functional import resize

    h, w = image.shape[-2:]
    scale = side / min(w, h)
    new_w, new_h = max(side, round(w * scale)), max(side, round(h * scale))
    image = resize(image, [new_h, new_w], interpolation=InterpolationMode.BILINEAR, antialias=True)
    left, top = (new_w - side) // 2, (new_h - side) // 2
    return image[:, top : top + side, left : left + side].contiguous()
