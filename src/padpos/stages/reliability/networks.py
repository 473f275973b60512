"""The networks of the metric-reliability reference (docs/protocols.md section 6): the
padding-free :class:`ProbeNet` (the position-free control; with coordinate channels, the
CoordConv net), the known position map injected into one of its layers (the dose
calibration), and the helpers that build and calibrate them."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from padpos.stages.reliability.images import ImageSet

class CoordChannels(nn.Module):
    """Concatenate two coordinate channels (row, column in [-1, 1] over the INPUT's
    own extent) to the input: CoordConv's position information, no padding."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        rows = torch.linspace(-1.0, 1.0, h, dtype=x.dtype, device=x.device).view(1, 1, h, 1)
        cols = torch.linspace(-1.0, 1.0, w, dtype=x.dtype, device=x.device).view(1, 1, 1, w)
        return torch.cat([x, rows.expand(n, 1, h, w), cols.expand(n, 1, h, w)], 1)


class ProbeNet(nn.Module):
    """Four 3 x 3 conv-BN-ReLU blocks WITHOUT padding (``valid``), strides 1, 2, 1, 2,
    widths w, 2w, 2w, 4w; feature taps ``block1..block4``. With ``coords`` the input
    first gets two coordinate channels (:class:`CoordChannels`). No head: the
    reliability metrics read features only. A 32 px input gives maps of 30, 14, 12, 5."""

    LAYERS = ("block1", "block2", "block3", "block4")

    def __init__(self, width: int = 8, in_channels: int = 3, coords: bool = False, padding: int = 0):
        super().__init__()
        self.coords = CoordChannels() if coords else nn.Identity()
        chans = [in_channels + (2 if coords else 0), width, 2 * width, 2 * width, 4 * width]
        for i, stride in enumerate((1, 2, 1, 2)):
            block = nn.Sequential(
                # padding > 0 (zero padding) only for tests: a net that DOES see a border
                nn.Conv2d(chans[i], chans[i + 1], 3, stride, padding=padding, bias=False),
                nn.BatchNorm2d(chans[i + 1]),
                nn.ReLU(),
            )
            setattr(self, f"block{i + 1}", block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.coords(x)
        for name in self.LAYERS:
            x = getattr(self, name)(x)
        return x


def side_distance_maps(h: int, w: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """4 x h x w: distance (in positions) of every map position to the left, right,
    top and bottom side of the map."""
    cols = torch.arange(w, dtype=dtype, device=device).view(1, w).expand(h, w)
    rows = torch.arange(h, dtype=dtype, device=device).view(h, 1).expand(h, w)
    return torch.stack([cols, w - 1 - cols, rows, h - 1 - rows])


class PositionInjection(nn.Module):
    """``inner(x) + dose * scale * P``: a known position map added to a layer's output.

    P_c(i, j) = sum over the four sides k of weight[c, k] * exp(-d_k(i, j) / decay):
    a per-channel mixture of decays from each side of the map (what a padding border
    writes, each side differently), evaluated on whatever map size the layer
    produces. ``scale`` makes dose 1 an RMS of P equal to ``unit`` (the layer's
    image-feature std) on a ``reference_size`` map (the crop's), whatever the size
    the map has later (a larger input's map gets the same pattern at its sides).
    At dose 0 the module returns ``inner(x)`` unchanged.
    """

    def __init__(self, inner: nn.Module, channels: int, reference_size: Sequence[int],
                 unit: float, dose: float = 0.0, decay: float = 2.0, pattern_seed: int = 0):
        super().__init__()
        self.inner = inner
        self.dose = float(dose)
        self.decay = float(decay)
        gen = torch.Generator().manual_seed(pattern_seed)
        self.register_buffer("weight", torch.randn(channels, 4, generator=gen))
        rms = float(self.pattern(*reference_size).pow(2).mean().sqrt())
        self.scale = float(unit) / rms

    def pattern(self, h: int, w: int) -> torch.Tensor:
        """P (unscaled), C x h x w, in the weights' dtype and device."""
        decays = torch.exp(-side_distance_maps(h, w, self.weight.dtype, self.weight.device) / self.decay)
        return torch.einsum("ck,khw->chw", self.weight, decays)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        if self.dose == 0.0:
            return out
        p = self.pattern(*out.shape[-2:]).to(out.dtype)
        return out + (self.dose * self.scale) * p


def inject_position(model: nn.Module, layer: str, dose: float, unit: float,
                    reference_size: Sequence[int], decay: float = 2.0,
                    pattern_seed: int = 0) -> nn.Module:
    """Replace ``model.<layer>`` (a direct child) by a :class:`PositionInjection` of it,
    in place; the layer's name (the feature tap) stays the same. Returns the model."""
    inner = getattr(model, layer, None)
    if not isinstance(inner, nn.Module):
        raise KeyError(f"{type(model).__name__} has no layer {layer!r} to inject a position map into")
    channels = _out_channels(inner)
    setattr(model, layer, PositionInjection(inner, channels, reference_size, unit, dose,
                                            decay, pattern_seed))
    return model


def set_dose(model: nn.Module, dose: float) -> nn.Module:
    """Set the dose of every :class:`PositionInjection` in ``model``."""
    found = [m for m in model.modules() if isinstance(m, PositionInjection)]
    if not found:
        raise ValueError("the model has no position injection")
    for m in found:
        m.dose = float(dose)
    return model


def _out_channels(module: nn.Module) -> int:
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"cannot tell the output channels of {type(module).__name__}")
    return convs[-1].out_channels



def feature_unit(model: nn.Module, layer: str, images: torch.Tensor) -> tuple[float, tuple[int, int]]:
    """sqrt(mean over channels and positions of Var_x[f]) of ``layer`` on ``images``
    (the dose unit: the image-feature std, PPP's SNR denominator), and the map size."""
    from padpos.features import layer_features

    with torch.no_grad():
        f = layer_features(model.eval(), images, [layer])[layer].double()
    return float(f.var(0, unbiased=False).mean().sqrt()), tuple(f.shape[-2:])


def probe_net(seed: int, width: int, images: ImageSet, coords: bool = False) -> ProbeNet:
    """A padding-free :class:`ProbeNet` initialised with ``seed``, its BatchNorm statistics
    estimated on the image set's training crops (an untrained net's deep features
    would otherwise be unnormalised), in eval mode."""
    from padpos.runtime import recalibrate_batchnorm

    torch.manual_seed(seed)
    net = ProbeNet(width, images.train.shape[1], coords)
    return recalibrate_batchnorm(net, images.train, batch_size=256)
