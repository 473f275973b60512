"""The location (quadrant) test of [KAY20] (docs/protocols.md 4b), the parts that every
stage running it shares: the canvases, the offset between the two placements, the
global-max-pooled features of a frozen network and the linear head read from them.

Every image is pasted twice on a canvas of value 0 (the data set's mean colour for
normalised images, black for pixels in [0, 1], as in [KAY20]'s code): at the top-left
(class 0) and ``offset`` px down and right (class 1). Global max pooling makes a
network's pooled features blind to where a pattern sits, so a head can tell the two
placements apart only through their distance to the canvas border, which padding
makes visible (50 % = no position information). [KAY20]'s 56 px images on a 120 px
canvas are 64 / 56 image sides apart (:data:`CORNER_OFFSET`); the offset is rounded up
to a multiple of the network's total stride, so that the two placements fall on the
same sampling grid of every map and no aliasing phase tells them apart.

Used by the fconv_location stage (the paper's test: canvases, the frozen net's head),
the reliability stage (the same networks as PPP and PosENet) and the pretrained stage
(published models, per tap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from padpos.optim import fit_logistic, two_way_head

# [KAY20]: 56 px images, the second placement 64 px down and right (a 120 px canvas)
CORNER_OFFSET = 64 / 56
# the default rounding of the offset: the largest total stride of the small backbones
# ([KAY20]'s 64 is a multiple of its ResNet's 32)
CORNER_STEP = 8
HEAD_L2 = 1e-3  # ridge of the frozen net's linear head: keeps separable fits finite
STD_FLOOR = 1e-6  # the smallest feature std a head divides by (a constant feature)


# ---------------------------------------------------------------- canvases
def corner_offset(size: int, step: int = CORNER_STEP) -> int:
    """Offset (px) between the two placements of a ``size`` px image: 64 / 56 image
    sides, rounded up to a multiple of ``step`` (the network's total stride)."""
    return step * math.ceil(CORNER_OFFSET * size / step)


def corner_canvases(images: torch.Tensor, offset: int | None = None, frame: int = 0):
    """Every image once at the top-left (class 0) and once ``offset`` px down and right
    (class 1) of a canvas of value 0: (2N x C x (S + offset + 2 frame)^2, labels); the
    first N canvases are class 0. ``offset`` defaults to :func:`corner_offset`.

    ``frame`` > 0 surrounds both placements with that much canvas, so that no image
    touches the canvas border (a diagnostic: with a frame as wide as the receptive
    field, a padding-free net with global max pooling cannot tell the two apart)."""
    n, c, s, _ = images.shape
    offset = corner_offset(s) if offset is None else int(offset)
    side = s + offset + 2 * frame
    canvas = images.new_zeros(2 * n, c, side, side)
    canvas[:n, :, frame : frame + s, frame : frame + s] = images
    canvas[n:, :, frame + offset : frame + offset + s, frame + offset : frame + offset + s] = images
    return canvas, (torch.arange(2 * n) // n).long()


# ---------------------------------------------------------------- features and head
@torch.no_grad()
def pooled_features(model: nn.Module, layers: Sequence[str], x: torch.Tensor, batch_size: int = 64,
                    dtype: torch.dtype = torch.float64) -> dict[str, torch.Tensor]:
    """Global max pooling of every layer's map, one forward pass per batch on the model's
    device: layer -> N x C on the CPU, in ``dtype``."""
    from padpos.features import layer_features

    device = next(model.parameters()).device
    out: dict[str, list] = {layer: [] for layer in layers}
    for i in range(0, len(x), batch_size):
        feats = layer_features(model, x[i : i + batch_size].to(device), list(layers))
        for layer in layers:
            out[layer].append(feats[layer].amax(dim=(-2, -1)).to(dtype).cpu())
    return {layer: torch.cat(parts) for layer, parts in out.items()}


def feature_scaling(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, std) per feature over the training canvases: what the head standardises with."""
    return features.mean(0), features.std(0).clamp(min=STD_FLOOR)


@dataclass
class LocationHead:
    """The linear head of the test: standardise the pooled features, then class 1 where
    ``w . x + b > 0`` (an L2-regularised logistic regression, fitted exactly)."""

    mean: torch.Tensor
    std: torch.Tensor
    w: torch.Tensor
    b: float

    def standardise(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean) / self.std

    def classes(self, features: torch.Tensor) -> torch.Tensor:
        """The predicted class (0 / 1) of every row of ``features``."""
        return ((self.standardise(features).double() @ self.w + self.b) > 0).long()


def fit_head(features: torch.Tensor, labels: torch.Tensor, l2: float = HEAD_L2) -> LocationHead:
    """The head fitted on the training canvases' pooled features
    (:func:`padpos.optim.fit_logistic`, Newton's method in float64)."""
    mean, std = feature_scaling(features)
    w, b = fit_logistic((features - mean) / std, labels, l2)
    return LocationHead(mean, std, w, b)


def two_way_linear_head(standardised: torch.Tensor, labels: torch.Tensor, l2: float = HEAD_L2) -> nn.Linear:
    """The same fit as a 2-way ``nn.Linear`` on already standardised features (a network's
    last layer, minimising cross-entropy + l2 |W|^2, bias free; :func:`padpos.optim.two_way_head`)."""
    w, b = fit_logistic(standardised, labels, l2)
    return two_way_head(w, b, standardised.dtype)


def head_accuracy(head: LocationHead, features: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """The head's accuracy (%) on held-out canvases and the one-sided binomial p-value
    of accuracy > 50 %."""
    from scipy import stats

    correct = int(head.classes(features).eq(labels).sum())
    p = float(stats.binomtest(correct, len(labels), 0.5, alternative="greater").pvalue)
    return 100.0 * correct / len(labels), p


def location_test(train: tuple[torch.Tensor, torch.Tensor],
                  test: tuple[torch.Tensor, torch.Tensor]) -> tuple[float, float]:
    """The quadrant test on pooled features: the head fitted on ``train`` = (features,
    labels), scored on ``test``: (accuracy %, one-sided binomial p-value)."""
    return head_accuracy(fit_head(*train), *test)


__all__ = [
    "CORNER_OFFSET",
    "CORNER_STEP",
    "HEAD_L2",
    "LocationHead",
    "corner_canvases",
    "corner_offset",
    "feature_scaling",
    "fit_head",
    "head_accuracy",
    "location_test",
    "pooled_features",
    "two_way_linear_head",
]
