"""Intermediate feature maps and their real-context (border-free) reference.

For a crop ``x`` (H x W) and the same scene with ``m`` real pixels of context on
every side, ``x_plus`` ((H + 2m) x (W + 2m)), the border-free reference of a
layer is the central region of ``f(x_plus)`` that is aligned with ``f(x)``:

    f*(x) = f(x_plus)[..., m/s : m/s + h, m/s : m/s + w]        (s = total stride)

It is exact when ``m`` is a multiple of every layer's total stride (a shift of
the input by ``m`` pixels then shifts every feature map by a whole number of
positions) and when ``m`` covers the receptive field of the units at the crop's
border (they then see real pixels only, never the padding of ``x_plus``).

Both numbers are measured on the model itself, not hard-coded, so the code works
for any backbone (small nets, torchvision ResNets / VGGs, any padding scheme):

- total stride ``s``: from how the feature-map size changes with the input size;
- receptive field: the input pixels that the gradient of one central unit
  reaches, on an input large enough that the field does not touch its border
  (so the padding of the probe plays no part). The gradients of a few random
  inputs are united, so that a ReLU or a max-pool that blocks a path for one
  input does not shrink the measured field.

Caveat: the ``none`` scheme (bilinear resize before every valid conv) is not
shift-equivariant - the resize stretches the map about its centre by a factor
that depends on the map size - so for it the alignment is approximate and the
measured pattern includes the resampling mismatch between the two sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import torch
from torch import Tensor, nn


class _StopForward(Exception):
    """Raised by a hook once the deepest requested layer has run (skips the head)."""


@dataclass(frozen=True)
class LayerGeometry:
    """Where a layer's units look in the input, in input pixels.

    stride: total stride s (input pixels per feature position).
    rf_left, rf_right: extent of a unit's receptive field before / after its
        anchor pixel ``s * i`` (a unit at feature position i).
    """

    stride: int
    rf_left: int
    rf_right: int

    @property
    def rf_radius(self) -> int:
        """Largest one-sided extent of the receptive field (px)."""
        return max(self.rf_left, self.rf_right)

    def margin(self, size: int, feature_size: int) -> int:
        """Smallest context margin (px, a multiple of the stride) that keeps every unit of a
        ``feature_size``-long map of a ``size``-long crop off the padding of ``x_plus``."""
        s = self.stride
        # first unit: its field starts rf_left before the crop; last unit (anchor s*(h-1)):
        # its field ends rf_right after it, which must stay within size + margin - 1
        need = max(self.rf_left, self.rf_right + s * (feature_size - 1) - (size - 1), 0)
        return s * math.ceil(need / s)


def _named_modules(model: nn.Module, layers: Sequence[str]) -> dict[str, nn.Module]:
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        known = ", ".join(n for n in modules if n) or "<none>"
        raise KeyError(f"layer(s) {missing} not found in {type(model).__name__}; known: {known}")
    return {name: modules[name] for name in layers}


def layer_features(
    model: nn.Module, x: Tensor, layers: Sequence[str], detach: bool = True
) -> dict[str, Tensor]:
    """Outputs of the named sub-modules of ``model`` for the batch ``x`` (one forward pass).

    The forward pass stops after the deepest requested layer, so the classifier head
    never runs (it may not even accept inputs of another size). The model's mode is
    left as it is: callers evaluate in eval mode. ``detach=False`` keeps the graph
    (used to back-propagate to the input when measuring receptive fields).
    """
    modules = _named_modules(model, layers)
    out: dict[str, Tensor] = {}
    wanted = set(layers)

    def hook_for(name):
        def hook(_module, _inputs, output):
            if name not in out:  # a module called twice keeps its first output
                out[name] = output.detach() if detach else output
            if wanted.issubset(out):
                raise _StopForward

        return hook

    handles = [m.register_forward_hook(hook_for(name)) for name, m in modules.items()]
    try:
        model(x)
    except _StopForward:
        pass
    finally:
        for h in handles:
            h.remove()
    missing = wanted - set(out)
    if missing:
        raise RuntimeError(f"layer(s) {sorted(missing)} did not run in the forward pass")
    return {name: out[name] for name in layers}


def _probe(model: nn.Module, size: int, channels: int, batch: int, generator) -> Tensor:
    p = next(iter(model.parameters()), None)
    dtype = p.dtype if p is not None else torch.float32
    device = p.device if p is not None else "cpu"
    x = torch.randn(batch, channels, size, size, generator=generator, dtype=torch.float64)
    return x.to(device=device, dtype=dtype)


def _support(grad: Tensor) -> tuple[int, int, int, int]:
    """Rows and columns (first, last) where a gradient batch is non-zero."""
    nz = grad.abs().sum(dim=(0, 1)) > 0
    rows = torch.nonzero(nz.any(dim=1)).flatten()
    cols = torch.nonzero(nz.any(dim=0)).flatten()
    if rows.numel() == 0:
        raise RuntimeError("the probed unit does not depend on the input (all gradients zero)")
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def _total_strides(model, layers, size, channels, generator) -> dict[str, int]:
    """Total stride per layer: input pixels per feature position, from two input sizes."""
    with torch.no_grad():
        small = layer_features(model, _probe(model, size, channels, 1, generator), layers)
        large = layer_features(model, _probe(model, 2 * size, channels, 1, generator), layers)
    strides = {}
    for name in layers:
        grown = large[name].shape[-1] - small[name].shape[-1]
        if grown <= 0 or size % grown:
            raise RuntimeError(
                f"layer {name!r}: cannot measure its total stride (map width {small[name].shape[-1]} "
                f"at input {size} px, {large[name].shape[-1]} at {2 * size} px)"
            )
        strides[name] = size // grown
    return strides


def _field_extent(grad: Tensor, unit: tuple[int, int], stride: int) -> tuple[int, int] | None:
    """(left, right) extent of a unit's field around its anchor, None if it touches the
    probe's border (then the probe's own padding may have shaped it)."""
    size = grad.shape[-1]
    r0, r1, c0, c1 = _support(grad)
    if min(r0, c0) == 0 or max(r1, c1) == size - 1:
        return None
    ai, aj = stride * unit[0], stride * unit[1]
    return max(ai - r0, aj - c0), max(r1 - ai, c1 - aj)


def layer_geometry(
    model: nn.Module,
    layers: Sequence[str],
    in_channels: int = 3,
    start_size: int = 64,
    max_size: int = 4096,
    probes: int = 3,
    seed: int = 0,
) -> dict[str, LayerGeometry]:
    """Measure total stride and receptive field of every named layer of ``model``.

    A central unit's field is measured on an input that grows (doubling from
    ``start_size``) until the field lies strictly inside it; each layer is measured
    at the smallest size that holds its field. The model is run as it is (call it
    in eval mode), on its own device (CPU or GPU); nothing in it is changed.
    """
    generator = torch.Generator().manual_seed(seed)
    strides = _total_strides(model, layers, start_size, in_channels, generator)
    geometry: dict[str, LayerGeometry] = {}
    size = start_size
    while size <= max_size:
        todo = [name for name in layers if name not in geometry]
        x = _probe(model, size, in_channels, probes, generator).requires_grad_(True)
        with torch.enable_grad():
            feats = layer_features(model, x, todo, detach=False)
            for name in todo:
                f = feats[name]
                unit = (f.shape[-2] // 2, f.shape[-1] // 2)
                (grad,) = torch.autograd.grad(f[:, :, unit[0], unit[1]].sum(), x, retain_graph=True)
                extent = _field_extent(grad, unit, strides[name])
                if extent is None:
                    break  # this and deeper layers need a larger probe
                geometry[name] = LayerGeometry(strides[name], *extent)
        if len(geometry) == len(layers):
            return {name: geometry[name] for name in layers}
        size *= 2
    raise RuntimeError(
        f"receptive field of layer(s) {[n for n in layers if n not in geometry]} does not fit "
        f"in a {max_size} px probe"
    )


def context_margin(
    geometry: dict[str, LayerGeometry], size: int, feature_sizes: dict[str, int]
) -> int:
    """One margin (px) valid for every layer: each layer's margin, rounded up to a multiple
    of every layer's stride, so that one ``x_plus`` serves all layers at once."""
    step = math.lcm(*(g.stride for g in geometry.values()))
    need = max(g.margin(size, feature_sizes[name]) for name, g in geometry.items())
    return step * math.ceil(need / step)


def central_region(f_plus: Tensor, margin: int, stride: int, shape: Sequence[int]) -> Tensor:
    """The region of ``f_plus`` (features of x_plus) aligned with features of shape ``shape``
    (..., h, w) of the crop: it starts ``margin / stride`` positions in."""
    if margin % stride:
        raise ValueError(f"margin {margin} px is not a multiple of the total stride {stride}")
    o = margin // stride
    h, w = shape[-2], shape[-1]
    if f_plus.shape[-2] < o + h or f_plus.shape[-1] < o + w:
        raise ValueError(
            f"features of x_plus ({tuple(f_plus.shape[-2:])}) too small for a {h}x{w} region "
            f"at offset {o}"
        )
    return f_plus[..., o : o + h, o : o + w]


def feature_pairs(
    model: nn.Module,
    x: Tensor,
    x_plus: Tensor,
    layers: Sequence[str],
    margin: int,
    strides: dict[str, int],
) -> dict[str, tuple[Tensor, Tensor]]:
    """(f_l(x), f_l*(x)) per layer for one batch; both of the same shape N x C x h x w."""
    with torch.no_grad():
        f = layer_features(model, x, layers)
        f_plus = layer_features(model, x_plus, layers)
    return {
        name: (f[name], central_region(f_plus[name], margin, strides[name], f[name].shape))
        for name in layers
    }


def feature_sizes(model: nn.Module, layers: Iterable[str], size: int, in_channels: int = 3):
    """Spatial size (width) of each layer's map for a ``size`` x ``size`` input."""
    layers = list(layers)
    p = next(iter(model.parameters()), None)
    # the model's dtype and device (a model on a GPU needs its input there)
    x = torch.zeros(1, in_channels, size, size, dtype=p.dtype if p is not None else None,
                    device=p.device if p is not None else None)
    with torch.no_grad():
        feats = layer_features(model, x, layers)
    return {name: int(feats[name].shape[-1]) for name in layers}
