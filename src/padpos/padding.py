"""Padding schemes for convolutions and pooling (docs/protocols.md section 1).

Every experiment sweeps a padding scheme over a whole network, including
torchvision's ResNet and VGG. Instead of forking model code, a built model is
converted in place: :func:`convert_padding` swaps every padded ``nn.Conv2d`` and
pooling layer for a :class:`PaddedConv2d` / :class:`PaddedMaxPool2d` /
:class:`PaddedAvgPool2d` that keeps the same parameters (``state_dict`` keys stay
``weight`` / ``bias``) and only changes how the border is handled. Small nets
are built with schemes directly through the :func:`conv2d` factory (like timm's
``create_conv2d``).

Scheme summary (see docs/padding.md for the full table):

- ``zeros`` / ``reflect`` / ``replicate`` / ``circular``: pad with that mode, valid conv.
- ``symmetric``: mirror padding that repeats the edge pixel (numpy's / TensorFlow's
  SYMMETRIC: ``c b a | a b c d | d c b``), valid conv.
- ``partial``: zero padding, outputs rescaled by k*k / (real pixels under the
  kernel), bias added after the rescale (Liu et al. 2018, arXiv 1811.11718).
- ``none``: no padding; the input is bilinearly resized by the pad amount, then a
  valid conv, so the output size equals the zero-padded one ([ISL21]'s code).
- ``valid``: no padding, maps shrink by dilation*(k-1) per conv.
- ``full``: zero padding dilation*(k-1) per side, maps grow (F-Conv, [KAY20]).
"""

from __future__ import annotations

import functools
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair

from padpos.names import PADDING_SCHEMES, SAME_SIZE_SCHEMES  # noqa: F401  (re-exported)

SCHEMES: tuple[str, ...] = PADDING_SCHEMES  # the names live in padpos.names (torch-free)

# schemes whose border is F.pad(x, pads, mode=...) followed by a valid op
_PAD_MODES = {
    "reflect": "reflect",
    "replicate": "replicate",
    "circular": "circular",
    "symmetric": "symmetric",
}

# (left, right, top, bottom), the order F.pad takes for the last two dims
Pads = tuple[int, int, int, int]


def check_scheme(scheme: str) -> str:
    """Return ``scheme`` if it is known, else raise a ValueError listing the allowed names."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown padding scheme {scheme!r}; allowed: {', '.join(SCHEMES)}")
    return scheme


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    """The per-side pad that keeps the size of a stride-1 conv: dilation*(k-1)//2."""
    return dilation * (kernel_size - 1) // 2


def _pad_from_module(padding, kernel_size, dilation) -> tuple[int, int]:
    """Per-side (pad_h, pad_w) of a module's ``padding`` (int, tuple or 'same'/'valid')."""
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(_pair(kernel_size), _pair(dilation))]
        if any(t % 2 for t in total):
            raise ValueError(
                f"padding='same' with kernel {kernel_size} and dilation {dilation} is "
                "asymmetric; padded schemes need the same pad on both sides"
            )
        return (total[0] // 2, total[1] // 2)
    ph, pw = _pair(padding)
    return (int(ph), int(pw))


def pad_border(x: torch.Tensor, pads: Pads, scheme: str) -> torch.Tensor:
    """Pad ``x`` by ``pads`` = (left, right, top, bottom) with a mode scheme's border.

    For ``reflect`` / ``circular`` a pad that is not smaller than the map (e.g. a
    1 x 1 map deep in a ResNet on 32 px inputs) is beyond ``F.pad``; then the
    reflection / wrap-around is repeated as numpy.pad does (a 1-pixel map reflects
    to itself). ``symmetric`` (not an ``F.pad`` mode) is ``F.pad(mode="replicate")``
    for pads of at most 1 (the same values) and gathers by index beyond.

    On the CPU the pad is a :class:`_BorderPad` (same values; its backward copies
    the interior gradient once and adds the thin border strips back, instead of
    ``F.pad``'s generic backward, which made these schemes 20-40 % slower than
    zeros); on other devices it is ``F.pad`` (one native kernel each way)."""
    mode = _PAD_MODES[scheme]
    pads = tuple(int(p) for p in pads)
    if x.device.type != "cpu" or x.dim() != 4 or not x.is_floating_point():
        return _pad_values(x, pads, mode)
    height, width = x.shape[-2:]
    if height * width <= _SMALL_MAP_PIXELS:
        # small maps: one GEMM with the 0/1 padding matrix beats strided copies of short rows
        matrix = _pad_matrix(height, width, pads, mode, x.dtype, x.device)
        return _apply_map_matrix(x, matrix, _padded_size(x, pads))
    if torch.is_grad_enabled() and x.requires_grad:
        return _BorderPad.apply(x, pads, mode)
    return _pad_values(x, pads, mode)


# maps with at most this many pixels (8 x 8) are padded / resized by one GEMM
_SMALL_MAP_PIXELS = 64


def _padded_size(x: torch.Tensor, pads: Pads) -> tuple[int, int]:
    left, right, top, bottom = pads
    return (x.shape[-2] + top + bottom, x.shape[-1] + left + right)


def _apply_map_matrix(x: torch.Tensor, matrix: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Apply a linear map of the flattened H x W plane, ``matrix`` (H*W, H'*W'), to
    every (sample, channel) of ``x``: one GEMM forward and one backward. (The zeros of
    the matrix turn an inf pixel into NaNs across its map; the finite-loss check of
    training stops such a run either way.)"""
    height, width = x.shape[-2:]
    out = x.reshape(-1, height * width) @ matrix
    return out.view(*x.shape[:-2], *size)


@functools.lru_cache(maxsize=256)
def _pad_matrix(height: int, width: int, pads: Pads, mode: str, dtype, device) -> torch.Tensor:
    """(H*W, H'*W') 0/1 matrix of padding an H x W map by ``pads`` with ``mode``."""
    source = _flat_border_indices(height, width, pads, mode, device)
    with torch.inference_mode(False), torch.no_grad():
        matrix = torch.zeros(height * width, len(source), dtype=dtype, device=device)
        matrix[source, torch.arange(len(source), device=device)] = 1
        return matrix


def _too_large(pads: Pads, height: int, width: int) -> bool:
    left, right, top, bottom = pads
    return max(top, bottom) >= height or max(left, right) >= width


def _pad_values(x: torch.Tensor, pads: Pads, mode: str) -> torch.Tensor:
    """The padded tensor (differentiable, but callers need no autograd of it: F.pad or gathers)."""
    left, right, top, bottom = pads
    height, width = x.shape[-2:]
    if mode == "symmetric" and max(pads) <= 1:
        mode = "replicate"  # a 1-pixel symmetric border repeats the edge pixel
    fits = mode != "symmetric" and not _too_large(pads, height, width)
    if mode == "replicate" or (fits and (mode == "reflect" or x.device.type != "cpu")):
        return F.pad(x, pads, mode=mode)
    if x.device.type == "cpu" and x.dim() >= 2:
        # one gather of the flattened planes: on the CPU ~40 % faster than F.pad's
        # circular mode (a chain of slice copies) and than two gathers along H and W
        index = _flat_border_indices(height, width, pads, mode, x.device)
        out = x.reshape(-1, height * width).index_select(1, index)
        return out.view(*x.shape[:-2], height + top + bottom, width + left + right)
    rows = _border_indices(height, top, bottom, mode, x.device)
    cols = _border_indices(width, left, right, mode, x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


@functools.lru_cache(maxsize=512)
def _flat_border_indices(height: int, width: int, pads: Pads, mode: str, device) -> torch.Tensor:
    """Source index, in the flattened H x W plane, of each position of the padded plane."""
    left, right, top, bottom = pads
    rows = _border_indices(height, top, bottom, mode, device)
    cols = _border_indices(width, left, right, mode, device)
    with torch.inference_mode(False):  # cached: must also serve autograd outside inference mode
        return (rows[:, None] * width + cols[None, :]).flatten()


@functools.lru_cache(maxsize=512)
def _border_indices(n: int, before: int, after: int, mode: str, device) -> torch.Tensor:
    """Source index of each padded position along one axis of length ``n`` (cached per
    size, pad, mode and device: the same few shapes recur at every step)."""
    with torch.inference_mode(False):  # cached: must also serve autograd outside inference mode
        return _border_indices_uncached(n, before, after, mode, device)


def _border_indices_uncached(n: int, before: int, after: int, mode: str, device) -> torch.Tensor:
    i = torch.arange(-before, n + after, device=device)
    if mode == "replicate":
        return i.clamp(0, n - 1)
    if mode == "circular":
        return i % n
    if mode == "symmetric":  # reflect repeating the edge: .. 1 0 | 0 1 .. n-1 | n-1 n-2 ..
        i = i % (2 * n)
        return torch.where(i < n, i, 2 * n - 1 - i)
    if n == 1:
        return torch.zeros_like(i)
    period = 2 * (n - 1)  # reflect without repeating the edge: 0 1 .. n-1 n-2 .. 1 | 0 ..
    i = i % period
    return torch.where(i < n, i, period - i)


class _BorderPad(torch.autograd.Function):
    """``F.pad(x, pads, mode)`` with a lean backward: the gradient of a padded map is
    its interior plus every border pixel's gradient added to the pixel it was copied
    from. One copy of the incoming gradient (autograd's, not ours to change), then
    :func:`_fold_border_in_place` adds the thin strips (slices, or ``index_add_``)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, pads: Pads, mode: str) -> torch.Tensor:
        ctx.pads, ctx.mode, ctx.hw = pads, mode, tuple(x.shape[-2:])
        return _pad_values(x, pads, mode)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        grad = grad.clone(memory_format=torch.contiguous_format)
        return _fold_border_in_place(grad, ctx.hw, ctx.pads, ctx.mode), None, None


def _add_into(out: torch.Tensor, dim: int, source, values: torch.Tensor) -> None:
    """out[source[j] along dim] += values[j along dim]; ``source`` is (first, step) for
    a run of consecutive indices (a slice, no gather), else an index tensor."""
    if isinstance(source, torch.Tensor):
        out.index_add_(dim, source, values)
        return
    first, step = source
    n = values.shape[dim]
    if step == 1:
        out.narrow(dim, first, n).add_(values)
    else:  # a mirrored run: first, first-1, ..., first-n+1
        out.narrow(dim, first - n + 1, n).add_(values.flip(dim))


@functools.lru_cache(maxsize=512)
def _strip_sources(n: int, before: int, after: int, mode: str, device) -> tuple:
    """For the strip before and the strip after the map: the source indices of its
    positions, as (first, step) when they are a run of distinct consecutive indices
    (step +1 or -1), else as an index tensor (repeats, wrap-arounds)."""
    index = _border_indices(n, before, after, mode, device)
    parts = []
    for part in (index[:before], index[before + n :]):
        values = part.tolist()
        steps = {b - a for a, b in zip(values, values[1:])}
        if len(values) <= 1 or steps in ({1}, {-1}):
            parts.append((values[0] if values else 0, -1 if steps == {-1} else 1))
        else:
            parts.append(part)
    return tuple(parts)


def center_pad_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Zero-pad ``x`` (N C H W) centrally to spatial ``size``; an odd difference puts
    the extra pixel at the bottom / right."""
    dh, dw = size[0] - x.shape[-2], size[1] - x.shape[-1]
    if dh < 0 or dw < 0:
        raise ValueError(
            f"cannot pad a {tuple(x.shape[-2:])} map to the smaller size {tuple(size)}"
        )
    if dh == 0 and dw == 0:
        return x
    return F.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))


# ---------------------------------------------------------------- convolution
class PaddedConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose border is handled by a padding ``scheme``.

    ``padding`` is the "same" pad the conv would use with zero padding (default:
    dilation*(k-1)//2); it is stored as ``pad_hw`` = (pad_h, pad_w) per side, and
    the parent's own ``padding`` is set to 0 because ``forward`` pads itself.
    ``extra_border`` (default 0) is added to the pad on every side; it is filled
    with the scheme's own border (zeros for ``zeros`` / ``partial`` / ``full`` /
    ``valid``, the mirror for ``reflect``, a larger resize for ``none``, ...) and
    grows the output by 2 * extra_border / stride per dimension. It is used by the
    F-Conv location test, whose border is added by padding the first conv.

    Parameters are those of ``nn.Conv2d``, so ``state_dict`` keys stay
    ``weight`` / ``bias``. The partial-conv ratio map is cached in a plain dict
    (never in ``state_dict``), one entry per (H, W, device, dtype).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=None,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        scheme: str = "zeros",
        extra_border: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=0,
            dilation=dilation,
            groups=groups,
            bias=bias,
            device=device,
            dtype=dtype,
        )
        if padding is None:
            padding = tuple(same_padding(k, d) for k, d in zip(self.kernel_size, self.dilation))
        self.padding_scheme = check_scheme(scheme)
        self.pad_hw = _pad_from_module(padding, self.kernel_size, self.dilation)
        self.extra_border = _check_border(extra_border)
        self._partial_ratio_cache: dict[tuple, torch.Tensor] = {}

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, scheme: str) -> "PaddedConv2d":
        """A PaddedConv2d that shares ``conv``'s parameters and uses its padding as the
        "same" pad (a PaddedConv2d keeps its ``pad_hw`` and ``extra_border``)."""
        if isinstance(conv, PaddedConv2d):
            pad_hw, border = conv.pad_hw, conv.extra_border
        else:
            pad_hw = _pad_from_module(conv.padding, conv.kernel_size, conv.dilation)
            border = 0
        new = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            stride=conv.stride,
            padding=pad_hw,
            dilation=conv.dilation,
            groups=conv.groups,
            bias=conv.bias is not None,
            scheme=scheme,
            extra_border=border,
            device="meta",
        )
        # share the very Parameter objects: exact copy, optimizer references stay valid
        new.weight = conv.weight
        new.bias = conv.bias
        new.train(conv.training)
        return new

    def side_pads(self) -> Pads:
        """(left, right, top, bottom) border this scheme adds, extra_border included
        (for ``none`` the amount the input is enlarged by resizing)."""
        b = self.extra_border
        if self.padding_scheme == "full":
            ph, pw = (d * (k - 1) for k, d in zip(self.kernel_size, self.dilation))
        elif self.padding_scheme == "valid":
            ph, pw = 0, 0
        else:
            ph, pw = self.pad_hw
        return (pw + b, pw + b, ph + b, ph + b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scheme = self.padding_scheme
        if scheme == "partial":
            return self._partial_forward(x)
        if scheme == "none":
            return self._valid_conv(_resize_by(x, self.side_pads()), self.bias)
        if scheme in _PAD_MODES:
            pads = self.side_pads()
            if _use_fused_pad_conv(x):
                return _FusedPadConv.apply(
                    x, self.weight, self.bias, pads, _PAD_MODES[scheme],
                    self.stride, self.dilation, self.groups,
                )  # fmt: skip
            return self._valid_conv(pad_border(x, pads, scheme), self.bias)
        return self._zero_padded_conv(x, self.bias)  # zeros, valid, full

    def _valid_conv(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        return F.conv2d(x, self.weight, bias, self.stride, 0, self.dilation, self.groups)

    def _zero_padded_conv(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        left, right, top, bottom = self.side_pads()
        if left == right and top == bottom:  # the conv's own zero padding is the fast path
            return F.conv2d(
                x, self.weight, bias, self.stride, (top, left), self.dilation, self.groups
            )
        return self._valid_conv(F.pad(x, (left, right, top, bottom)), bias)

    def _partial_forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._zero_padded_conv(x, None)
        ratio = self.partial_ratio(x.shape[-2], x.shape[-1], out.device, out.dtype)
        out = out * ratio
        if self.bias is not None:
            # bias after the rescale; an output that sees no real pixel stays 0 (as Liu et al.)
            out = out + self.bias.to(out.dtype).view(1, -1, 1, 1) * (ratio > 0)
        return out

    def partial_ratio(self, height: int, width: int, device, dtype) -> torch.Tensor:
        """The 1 x 1 x h_out x w_out map k*k / (real input pixels under the kernel) for an
        H x W input (0 where the kernel sees no real pixel); computed once per
        (H, W, device, dtype) and cached."""
        key = (int(height), int(width), torch.device(device), dtype)
        ratio = self._partial_ratio_cache.get(key)
        if ratio is None:
            ratio = self._compute_partial_ratio(height, width, device, dtype)
            self._partial_ratio_cache[key] = ratio
        return ratio

    def _compute_partial_ratio(self, height: int, width: int, device, dtype) -> torch.Tensor:
        kh, kw = self.kernel_size
        # counts are small integers, exact in float32; divide at float64 only if asked for
        real = F.pad(torch.ones(1, 1, height, width, device=device), self.side_pads())
        count = F.conv2d(
            real,
            torch.ones(1, 1, kh, kw, device=device),
            stride=self.stride,
            dilation=self.dilation,
        )
        if dtype == torch.float64:
            count = count.double()
        ratio = torch.where(count > 0, (kh * kw) / count.clamp(min=1), torch.zeros_like(count))
        return ratio.to(dtype)

    def extra_repr(self) -> str:
        text = f"{super().extra_repr()}, scheme={self.padding_scheme}, pad_hw={self.pad_hw}"
        return text + (f", extra_border={self.extra_border}" if self.extra_border else "")


# ------------------------------------------------ mode-padded conv, CPU training
def _use_fused_pad_conv(x: torch.Tensor) -> bool:
    """Whether a mode-padded conv takes :class:`_FusedPadConv`: CPU training on a map
    larger than the small maps that :func:`pad_border` pads by one GEMM."""
    # x.requires_grad, as the pad's own custom backward before it: a batched (vmap)
    # input reports False and keeps the plain path; CPU autocast would hand the conv's
    # backward a bf16 gradient for a float32 map, which oneDNN refuses
    return (
        x.device.type == "cpu"
        and x.dim() == 4
        and x.is_floating_point()
        and torch.is_grad_enabled()
        and x.requires_grad
        and not torch.is_autocast_enabled("cpu")
        and x.shape[-2] * x.shape[-1] > _SMALL_MAP_PIXELS
    )


class _FusedPadConv(torch.autograd.Function):
    """``conv2d(pad(x, pads, mode), weight, bias)`` as one autograd node (the same
    values and gradients as padding, then a valid conv).

    Why: as two nodes, the conv's backward writes the padded map's gradient and the
    pad's backward copies its interior into a new tensor before adding the border
    back: a full extra pass over the activations per conv, ~2 % of a CPU training
    step. Here the border strips of the padded map's gradient are added into its
    interior in place, and the interior (a view) is the input's gradient."""

    @staticmethod
    def forward(ctx, x, weight, bias, pads: Pads, mode: str, stride, dilation, groups):
        padded = _pad_values(x, pads, mode)
        ctx.save_for_backward(padded, weight)
        ctx.pads, ctx.mode, ctx.hw = pads, mode, tuple(x.shape[-2:])
        ctx.conv = (list(stride), list(dilation), groups, bias is not None)
        return F.conv2d(padded, weight, bias, stride, 0, dilation, groups)

    @staticmethod
    @torch.autograd.function.once_differentiable  # the padded map is not linked to x
    def backward(ctx, grad_out):
        padded, weight = ctx.saved_tensors
        stride, dilation, groups, has_bias = ctx.conv
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        need_b = need_b and has_bias
        grad_padded, grad_w, grad_b = torch.ops.aten.convolution_backward(
            grad_out.contiguous(), padded, weight, [weight.shape[0]] if need_b else None,
            stride, [0, 0], dilation, False, [0, 0], groups, [need_x, need_w, need_b],
        )  # fmt: skip
        grad_x = _fold_border_in_place(grad_padded, ctx.hw, ctx.pads, ctx.mode) if need_x else None
        return grad_x, grad_w, grad_b, None, None, None, None, None


def _fold_border_in_place(
    grad: torch.Tensor, hw: tuple[int, int], pads: Pads, mode: str
) -> torch.Tensor:
    """Adjoint of padding, in ``grad`` itself: add the gradient of every padded position
    into the position it was copied from, columns first (every row, so the corners
    reach the top / bottom strips), then the top / bottom strips; returns the
    interior view."""
    height, width = hw
    left, right, top, bottom = pads
    col_parts = _strip_sources(width, left, right, mode, grad.device)
    row_parts = _strip_sources(height, top, bottom, mode, grad.device)
    inner_cols = grad[..., left : left + width]
    for (start, stop), source in zip(((0, left), (left + width, grad.shape[-1])), col_parts):
        if stop > start:
            _add_into(inner_cols, -1, source, grad[..., start:stop])
    inner = inner_cols[..., top : top + height, :]
    for (start, stop), source in zip(((0, top), (top + height, grad.shape[-2])), row_parts):
        if stop > start:
            _add_into(inner, -2, source, inner_cols[..., start:stop, :])
    return inner


def _check_border(border: int) -> int:
    if int(border) != border or border < 0:
        raise ValueError(f"extra_border must be a non-negative integer, got {border!r}")
    return int(border)


def _resize_by(x: torch.Tensor, pads: Pads, exact: bool = False) -> torch.Tensor:
    """Bilinearly resize ``x`` from H x W to (H + top + bottom) x (W + left + right).

    On the CPU the resize is done as matrix products with cached resize matrices
    (:func:`_resize_matrix`, the very weights of ``F.interpolate``): PyTorch's CPU
    bilinear kernel, forward and above all backward, made ``none`` ~40 % slower
    than zeros. The products agree with ``F.interpolate`` to rounding; ``exact=True``
    (pooling, where only a max is taken) and other devices use ``F.interpolate``."""
    left, right, top, bottom = pads
    if left == right == top == bottom == 0:
        return x
    height, width = x.shape[-2:]
    size = (height + top + bottom, width + left + right)
    if exact or x.device.type != "cpu" or x.dim() != 4 or not x.is_floating_point():
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    if height * width <= _SMALL_MAP_PIXELS:
        # small maps: one GEMM with the 2-D resize matrix (batched tiny GEMMs are slow)
        return _apply_map_matrix(x, _resize_kron(height, width, size, x.dtype, x.device), size)
    rows = _resize_matrix(height, size[0], x.dtype, x.device)  # (H', H)
    cols_t = _resize_matrix(width, size[1], x.dtype, x.device).t()  # (W, W')
    return torch.matmul(rows, torch.matmul(x, cols_t))


@functools.lru_cache(maxsize=256)
def _resize_matrix(n_in: int, n_out: int, dtype, device) -> torch.Tensor:
    """The (n_out, n_in) matrix of 1-D bilinear resizing (align_corners=False), taken
    from ``F.interpolate`` itself (resizing the identity), so the weights are PyTorch's."""
    with torch.inference_mode(False), torch.no_grad():  # cached: serves autograd later
        eye = torch.eye(n_in, dtype=dtype, device=device).view(1, 1, n_in, n_in)
        resized = F.interpolate(eye, size=(n_out, n_in), mode="bilinear", align_corners=False)
        return resized[0, 0].contiguous()


@functools.lru_cache(maxsize=256)
def _resize_kron(height: int, width: int, size: tuple[int, int], dtype, device) -> torch.Tensor:
    """(H*W, H'*W') matrix: a flattened map times it is the flattened resized map."""
    rows = _resize_matrix(height, size[0], dtype, device)
    cols = _resize_matrix(width, size[1], dtype, device)
    with torch.inference_mode(False), torch.no_grad():
        return torch.kron(rows, cols).t().contiguous()


def set_extra_border(module: PaddedConv2d, border: int) -> PaddedConv2d:
    """Add ``border`` pixels of the scheme's own padding on every side of ``module``'s
    input (the F-Conv location test pads the first conv this way); returns the module."""
    if not isinstance(module, PaddedConv2d):
        raise TypeError(
            f"set_extra_border needs a PaddedConv2d (run convert_padding first), "
            f"got {type(module).__name__}"
        )
    module.extra_border = _check_border(border)
    module._partial_ratio_cache.clear()  # the ratio depends on the pad
    return module


def conv2d(
    in_ch: int,
    out_ch: int,
    kernel_size: int,
    stride: int = 1,
    padding: int | None = None,
    bias: bool = False,
    scheme: str = "zeros",
    dilation: int = 1,
    groups: int = 1,
) -> PaddedConv2d:
    """Build a conv with a padding scheme (``padding=None``: "same", dilation*(k-1)//2)."""
    return PaddedConv2d(
        in_ch,
        out_ch,
        kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=bias,
        scheme=scheme,
    )


# ---------------------------------------------------------------- pooling
class _PaddedPoolMixin:
    """Shared border handling of the padded pooling layers (``pad_hw`` per side)."""

    padding_scheme: str
    pad_hw: tuple[int, int]

    def _init_scheme(self, scheme: str, padding) -> None:
        self.padding_scheme = check_scheme(scheme)
        self.pad_hw = _pad_from_module(padding, 1, 1)

    def _pads(self) -> Pads:
        ph, pw = self.pad_hw
        return (pw, pw, ph, ph)

    def _prepare(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """The input to pool and the padding to pool it with."""
        scheme = self.padding_scheme
        if scheme in _PAD_MODES:
            return pad_border(x, self._pads(), scheme), (0, 0)
        if scheme == "none":
            return _resize_by(x, self._pads(), exact=True), (0, 0)
        if scheme == "valid":
            return x, (0, 0)
        # zeros / full: PyTorch's own padding, as in a zero-padded torchvision model (-inf
        # for max, zeros counted by avg with count_include_pad=True); partial: the native
        # -inf already ignores padded pixels for max, avg drops count_include_pad
        return x, self.pad_hw

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, scheme={self.padding_scheme}, pad_hw={self.pad_hw}"


class PaddedMaxPool2d(_PaddedPoolMixin, nn.MaxPool2d):
    """``nn.MaxPool2d`` with a padding scheme. zeros / partial / full keep PyTorch's
    native padding (padded pixels are -inf, i.e. ignored); reflect / replicate /
    circular pad with that mode and pool with padding 0; none resizes the input
    bilinearly by the pad; valid pools with padding 0."""

    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, scheme="zeros"
    ) -> None:
        super().__init__(kernel_size, stride, 0, dilation, ceil_mode=ceil_mode)
        self._init_scheme(scheme, padding)

    @classmethod
    def from_pool(cls, pool: nn.MaxPool2d, scheme: str) -> "PaddedMaxPool2d":
        if pool.return_indices:
            raise ValueError("padding schemes do not support MaxPool2d(return_indices=True)")
        padding = pool.pad_hw if isinstance(pool, PaddedMaxPool2d) else pool.padding
        return cls(pool.kernel_size, pool.stride, padding, pool.dilation, pool.ceil_mode, scheme)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, padding = self._prepare(x)
        return F.max_pool2d(
            x, self.kernel_size, self.stride, padding, self.dilation, self.ceil_mode
        )


class PaddedAvgPool2d(_PaddedPoolMixin, nn.AvgPool2d):
    """``nn.AvgPool2d`` with a padding scheme. zeros / full keep PyTorch's native
    padding (with the layer's own ``count_include_pad``); partial averages only real
    pixels (count_include_pad=False); reflect / replicate / circular / none / valid
    as for :class:`PaddedMaxPool2d`."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
        scheme="zeros",
    ) -> None:
        super().__init__(kernel_size, stride, 0, ceil_mode, count_include_pad, divisor_override)
        self._init_scheme(scheme, padding)

    @classmethod
    def from_pool(cls, pool: nn.AvgPool2d, scheme: str) -> "PaddedAvgPool2d":
        padding = pool.pad_hw if isinstance(pool, PaddedAvgPool2d) else pool.padding
        return cls(
            pool.kernel_size,
            pool.stride,
            padding,
            pool.ceil_mode,
            pool.count_include_pad,
            pool.divisor_override,
            scheme,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, padding = self._prepare(x)
        include_pad = self.count_include_pad and self.padding_scheme != "partial"
        return F.avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            padding,
            self.ceil_mode,
            include_pad,
            self.divisor_override,
        )


# ---------------------------------------------------------------- residual blocks
_BLOCK_PARTS = ("conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu", "downsample")


def is_residual_block(module: nn.Module) -> bool:
    """True for torchvision's BasicBlock / Bottleneck and any module with the same
    parts (conv1, bn1, conv2, bn2, relu, downsample; optional conv3 / bn3)."""
    required = ("conv1", "bn1", "conv2", "bn2", "relu", "downsample")
    return all(hasattr(module, a) for a in required)


class FullPaddingBlock(nn.Module):
    """A residual block for ``full`` padding: the main branch grows by the pad of
    its convs, so the shortcut is zero-padded centrally to the branch's size
    before the addition.

    It adopts the block's own submodules under the same names, so ``state_dict``
    keys are unchanged, and runs them exactly as torchvision's BasicBlock /
    Bottleneck do.
    """

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        if isinstance(block, FullPaddingBlock) or not is_residual_block(block):
            raise TypeError(f"{type(block).__name__} does not look like a residual block")
        self.block_type = type(block).__name__
        for name in _BLOCK_PARTS:
            setattr(self, name, getattr(block, name, None))
        self.train(block.training)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.conv3 is not None:
            out = self.bn3(self.conv3(self.relu(out)))
        identity = x if self.downsample is None else self.downsample(x)
        out = out + center_pad_to(identity, out.shape[-2:])
        return self.relu(out)

    def extra_repr(self) -> str:
        return f"wraps={self.block_type}"


# ---------------------------------------------------------------- conversion
def _needs_conversion(module: nn.Module) -> bool:
    if isinstance(module, nn.Conv2d):
        if isinstance(module, PaddedConv2d):
            return True
        padded = _pad_from_module(module.padding, module.kernel_size, module.dilation) != (0, 0)
        return padded or any(k > 1 for k in module.kernel_size)
    if isinstance(module, (PaddedMaxPool2d, PaddedAvgPool2d)):
        return True
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return _pad_from_module(module.padding, 1, 1) != (0, 0)
    return False


def _converted(module: nn.Module, scheme: str) -> nn.Module:
    if hasattr(module, "with_scheme"):  # pads itself (padpos.padding_tf_same.TFSameConv2d)
        return module.with_scheme(scheme)
    if isinstance(module, nn.Conv2d):
        return PaddedConv2d.from_conv(module, scheme)
    if isinstance(module, nn.MaxPool2d):
        return PaddedMaxPool2d.from_pool(module, scheme)
    return PaddedAvgPool2d.from_pool(module, scheme)


def _replace_children(parent: nn.Module, scheme: str) -> None:
    for name, child in list(parent.named_children()):
        if (
            scheme == "full"
            and is_residual_block(child)
            and not isinstance(child, FullPaddingBlock)
        ):
            child = FullPaddingBlock(child)
            setattr(parent, name, child)
        if _needs_conversion(child):
            setattr(parent, name, _converted(child, scheme))
        else:
            _replace_children(child, scheme)


def _residual_blocks(model: nn.Module) -> Iterator[str]:
    return (name for name, m in model.named_modules() if is_residual_block(m))


def convert_padding(model: nn.Module, scheme: str) -> nn.Module:
    """Give every padded conv and pooling layer of ``model`` the padding ``scheme``.

    In place (the model is also returned). Every ``nn.Conv2d`` with a kernel > 1 or
    a nonzero padding becomes a :class:`PaddedConv2d` sharing its parameters (the
    module's own padding is the "same" pad); every pooling layer with padding
    becomes a :class:`PaddedMaxPool2d` / :class:`PaddedAvgPool2d`. Converting an
    already converted model switches its scheme. For ``full``, residual blocks
    are wrapped in :class:`FullPaddingBlock`; residual nets cannot use ``valid``.
    """
    check_scheme(scheme)
    if scheme == "valid":
        block = next(_residual_blocks(model), None)
        if block is not None:
            raise ValueError(
                f"padding scheme 'valid' cannot be used on {type(model).__name__}: valid "
                f"shrinks maps, so residual additions (block {block!r}) cannot match; "
                "use a plain net"
            )
    _replace_children(model, scheme)
    return model


def scheme_of(model: nn.Module) -> set[str]:
    """The padding schemes present in ``model``: each padded layer's scheme, and the
    ``padding_mode`` of plain ``nn.Conv2d`` layers that pad (e.g. {'zeros'} for an
    unconverted torchvision model)."""
    found = set()
    for m in model.modules():
        if isinstance(m, (PaddedConv2d, PaddedMaxPool2d, PaddedAvgPool2d)):
            found.add(m.padding_scheme)
        elif isinstance(m, nn.Conv2d):
            if _pad_from_module(m.padding, m.kernel_size, m.dilation) != (0, 0):
                found.add(m.padding_mode)
    return found
