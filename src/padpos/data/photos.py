"""Position-biased images with true context: crops of real photographs, and a
synthetic scene with a controlled bias (docs/protocols.md section 6).

Both give, for every image, the crop ``x`` (size x size) and the same scene with
``margin`` real pixels of context on every side, ``x_plus``; ``x`` is exactly the
centre of ``x_plus`` (the same pixels, sliced, never resampled twice), so a
padding-free network computes the same features for ``x`` as the aligned region
of its features of ``x_plus`` (PPP's real-context reference).

- ``photo_crops``: random square windows of scikit-image's natural colour
  photographs (shipped inside the scikit-image wheel: offline), each window
  resized to ``size + 2 * margin``. Windows are not flipped, so the crops keep the
  photographs' own position bias (sky and ceilings up, ground down, centred
  subjects). The crop covers at most ``size / (size + 2 margin)`` of a photo's
  short side, so that its context is real.
- ``biased_scenes``: a bright, smooth top and a dark, textured bottom, split at a
  jittered horizon, with a random tint: content that correlates with position by
  construction. The scene is a function of the crop's own pixel coordinates
  (extended into the context), so ``x_plus`` is the same scene seen wider.

Pixels are float32 in [0, 1]; callers normalise them as their networks expect.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

# PHOTOS: scikit-image's natural colour photographs (``skimage.data``; no download
# needed). ``cat`` is ``chelsea`` again, ``colorwheel`` and ``logo`` are not
# photographs, ``stereo_motorcycle`` gives a stereo pair (its left image is used).
from padpos.names import PHOTOS

SPLIT_STREAMS = {"train": 0, "test": 1}  # disjoint random streams of crops per split


def _check_split(split: str) -> int:
    if split not in SPLIT_STREAMS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLIT_STREAMS)}")
    return SPLIT_STREAMS[split]


@lru_cache(maxsize=None)
def load_photo(name: str) -> torch.Tensor:
    """One of ``PHOTOS`` as a float32 tensor 3 x H x W in [0, 1]."""
    if name not in PHOTOS:
        raise ValueError(f"unknown photograph {name!r}; allowed: {', '.join(PHOTOS)}")
    import skimage.data

    image = getattr(skimage.data, name)()
    if isinstance(image, tuple):  # stereo_motorcycle: (left, right, disparity)
        image = image[0]
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"skimage.data.{name} is not an RGB uint8 photograph: {image.shape} {image.dtype}")
    return torch.from_numpy(image.copy()).permute(2, 0, 1).float().div_(255.0)


def _generator(seed: int, split: str, salt: int) -> torch.Generator:
    # one stream per (seed, split, kind): train and test crops never share a draw
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + _check_split(split) * 7919 + salt)


def photo_crops(
    n: int,
    size: int,
    margin: int,
    seed: int = 0,
    split: str = "train",
    photos: Sequence[str] = PHOTOS,
    min_fraction: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random crops (x, x_plus) of the photographs, cycling through ``photos``.

    Each window of a photo is square, with a side between ``min_fraction`` and 1
    times the photo's short side, at a uniformly random position, and is resized
    (bilinear, antialiased) to ``size + 2 * margin`` px: that is ``x_plus``; ``x`` is
    its central ``size`` x ``size`` region. Returns float32 tensors n x 3 x size x size
    and n x 3 x (size + 2 margin)^2. Deterministic in (seed, split).
    """
    if n < 1 or size < 1 or margin < 0:
        raise ValueError(f"photo_crops needs n >= 1, size >= 1, margin >= 0; got {n}, {size}, {margin}")
    if not 0.0 < min_fraction <= 1.0:
        raise ValueError(f"min_fraction must be in (0, 1], got {min_fraction}")
    photos = list(photos)
    if not photos:
        raise ValueError("no photographs given")
    gen = _generator(seed, split, 1)
    side = size + 2 * margin
    out = torch.empty(n, 3, side, side)
    for i in range(n):
        photo = load_photo(photos[i % len(photos)])
        h, w = photo.shape[-2:]
        frac = min_fraction + (1.0 - min_fraction) * float(torch.rand((), generator=gen))
        window = max(side, int(round(frac * min(h, w))))
        if window > min(h, w):
            raise ValueError(f"photograph {photos[i % len(photos)]} ({h} x {w}) is smaller than {side} px")
        top = int(torch.randint(0, h - window + 1, (), generator=gen))
        left = int(torch.randint(0, w - window + 1, (), generator=gen))
        crop = photo[None, :, top : top + window, left : left + window]
        out[i] = F.interpolate(crop, size=(side, side), mode="bilinear", align_corners=False,
                               antialias=True)[0]
    out = out.clamp_(0.0, 1.0)
    return out[..., margin : margin + size, margin : margin + size].clone(), out


def biased_scenes(
    n: int, size: int, margin: int, seed: int = 0, split: str = "train"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` synthetic scenes (x, x_plus) with a controlled position bias.

    Above a horizon (row ``size / 2`` of the crop, jittered by N(0, (size / 8)^2))
    the scene is bright and smooth, below it dark and textured (smoothed noise of
    standard deviation 1 before clipping: the 5 x 5 taps weigh 1/5 each, a sum, not a
    mean); a random tint per image. Pixel rows and columns are the
    crop's own coordinates, extended by ``margin`` into the context, so ``x`` is
    exactly the centre of ``x_plus``. Deterministic in (seed, split).
    """
    if n < 1 or size < 1 or margin < 0:
        raise ValueError(f"biased_scenes needs n >= 1, size >= 1, margin >= 0; got {n}, {size}, {margin}")
    gen = _generator(seed, split, 2)
    side = size + 2 * margin
    rows = torch.arange(side, dtype=torch.float32).view(1, 1, side, 1) - margin + 0.5
    horizon = size / 2 + size / 8 * torch.randn(n, 1, 1, 1, generator=gen)
    below = torch.sigmoid((rows - horizon) / (size / 16))  # 0 above the horizon, 1 below
    tint = 0.8 + 0.2 * torch.rand(n, 3, 1, 1, generator=gen)
    # smoothed noise: a 5 x 5 box blur without padding, from a grid 4 px larger
    noise = torch.randn(n * 3, 1, side + 4, side + 4, generator=gen)
    noise = F.conv2d(noise, torch.full((1, 1, 5, 5), 1 / 5), padding=0).view(n, 3, side, side)
    brightness = 0.85 - 0.55 * below
    scene = (tint * brightness + below * noise).clamp(0.0, 1.0)  # noise std 1 (taps of 1/5)
    return scene[..., margin : margin + size, margin : margin + size].clone(), scene


def vertical_bias(images: torch.Tensor) -> float:
    """Mean brightness of the top half minus that of the bottom half (a bias check)."""
    h = images.shape[-2]
    return float(images[..., : h // 2, :].mean() - images[..., h - h // 2 :, :].mean())


def image_sets_margin_check(margin: int, need: int, what: str) -> None:
    """Raise if the context ``margin`` of the images is less than a network needs."""
    if need > margin:
        raise ValueError(
            f"{what} needs {need} px of real context, the images have {margin} px "
            f"(config key 'reliability.context_px'); raise it to at least {need}"
        )

