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
  valid conv, so the output size equals the zero-padded one (after ``Conv2d_NoPadding``
  in islamamirul/PermuteNet, the code of the same group's ICCV 2021 paper; [ISL21]
  reports a no-padding arm, its implementation not verified here).
- ``valid``: no padding, maps shrink by dilation*(k-1) per conv.
- ``full``: zero padding dilation*(k-1) per side, maps grow (F-Conv, [KAY20]).

What each scheme IS is one row of :data:`SCHEME_TABLE` (a :class:`Scheme`, resolved once
when a layer is built, as timm's ``get_padding_value`` resolves a padding name): how wide
the conv's border is, how the conv fills it and how a pooling layer does. The layers
call that row and never branch on scheme names; the CPU kernels behind the rows are in
:mod:`padpos.padding_kernels`. Adding a scheme: its name in :mod:`padpos.names` and one
row here (docs/developing.md).

Length: the scheme table, the layers that read it and the model conversion are read together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair

from padpos.names import PADDING_SCHEMES, SAME_SIZE_SCHEMES  # noqa: F401  (re-exported)
from padpos.padding_kernels import Pads, mode_padded_conv, pad_by_mode, resize_by
from padpos.padding_kernels import (  # noqa: F401  (the kernels' internals, re-exported for tests)
    _border_indices,
    _FusedPadConv,
    _pad_matrix,
    _pad_values,
    _resize_matrix,
)
from padpos.padding_kernels import resize_by as _resize_by  # noqa: F401  (its former name)

SCHEMES: tuple[str, ...] = PADDING_SCHEMES  # the names live in padpos.names (torch-free)


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


# ---------------------------------------------------------------- what each scheme is
# A conv's border per side (pad_h, pad_w), from its kernel size, dilation and its "same" pad
def _same_border(kernel_size, dilation, pad_hw) -> tuple[int, int]:
    return tuple(pad_hw)


def _full_border(kernel_size, dilation, pad_hw) -> tuple[int, int]:
    return tuple(d * (k - 1) for k, d in zip(kernel_size, dilation))


def _no_border(kernel_size, dilation, pad_hw) -> tuple[int, int]:
    return (0, 0)


# How a conv fills its border (``side_pads()``) and convolves
def _zero_padded_forward(conv: "PaddedConv2d", x: torch.Tensor) -> torch.Tensor:
    return conv.zero_padded_conv(x, conv.bias)


def _mode_padded_forward(conv: "PaddedConv2d", x: torch.Tensor) -> torch.Tensor:
    return mode_padded_conv(x, conv.weight, conv.bias, conv.side_pads(), conv.scheme.mode,
                            conv.stride, conv.dilation, conv.groups)  # fmt: skip


def _resized_forward(conv: "PaddedConv2d", x: torch.Tensor) -> torch.Tensor:
    return conv.valid_conv(resize_by(x, conv.side_pads()), conv.bias)


def _partial_forward(conv: "PaddedConv2d", x: torch.Tensor) -> torch.Tensor:
    """Zero padding, outputs rescaled by k*k / (real pixels under the kernel), bias after
    the rescale; an output that sees no real pixel stays 0 (as Liu et al.)."""
    out = conv.zero_padded_conv(x, None)
    ratio = conv.partial_ratio(x.shape[-2], x.shape[-1], out.device, out.dtype)
    out = out * ratio
    if conv.bias is not None:
        out = out + conv.bias.to(out.dtype).view(1, -1, 1, 1) * (ratio > 0)
    return out


# What a pooling layer pools, and with which native padding: zeros / full / partial keep
# PyTorch's own padding, as in a zero-padded torchvision model (-inf for max, which also
# ignores the padded pixels as partial wants; zeros counted by avg unless avg_counts_pad
# is off)
def _native_pool_border(pool: "_PaddedPoolMixin", x: torch.Tensor):
    return x, pool.pad_hw


def _mode_pool_border(pool: "_PaddedPoolMixin", x: torch.Tensor):
    return pad_by_mode(x, pool.side_pads(), pool.scheme.mode), (0, 0)


def _resized_pool_border(pool: "_PaddedPoolMixin", x: torch.Tensor):
    return resize_by(x, pool.side_pads(), exact=True), (0, 0)  # exact: only a max / mean is taken


def _no_pool_border(pool: "_PaddedPoolMixin", x: torch.Tensor):
    return x, (0, 0)


@dataclass(frozen=True)
class Scheme:
    """What a padding scheme is: how wide a conv's border is (``conv_border``), how a conv
    fills it and convolves (``conv``), what a pooling layer pools (``pool_input``: the input
    and the native padding to pool it with), the border mode of mode schemes (``mode``,
    for :func:`padpos.padding_kernels.pad_by_mode`) and whether average pooling may count
    padded pixels (``avg_counts_pad``; the layer's own ``count_include_pad`` still applies)."""

    name: str
    conv: Callable[["PaddedConv2d", torch.Tensor], torch.Tensor]
    pool_input: Callable
    conv_border: Callable = _same_border
    mode: str | None = None
    avg_counts_pad: bool = True


def _zero_family(name: str, conv_border=_same_border) -> Scheme:
    return Scheme(name, _zero_padded_forward, _native_pool_border, conv_border)


def _mode_family(name: str) -> Scheme:
    """A border copied from the map by ``F.pad``-like mode ``name``, then a valid op."""
    return Scheme(name, _mode_padded_forward, _mode_pool_border, mode=name)


# one row per scheme of padpos.names.PADDING_SCHEMES (tests/test_padding.py checks both agree)
SCHEME_TABLE: dict[str, Scheme] = {
    s.name: s
    for s in (
        _zero_family("zeros"),
        _mode_family("reflect"),
        _mode_family("replicate"),
        _mode_family("circular"),
        Scheme("partial", _partial_forward, _native_pool_border, avg_counts_pad=False),
        Scheme("none", _resized_forward, _resized_pool_border),
        _mode_family("symmetric"),
        Scheme("valid", _zero_padded_forward, _no_pool_border, _no_border),
        _zero_family("full", _full_border),
    )
}
# schemes whose border is pad_by_mode(x, pads, mode) followed by a valid op
_PAD_MODES = {name: s.mode for name, s in SCHEME_TABLE.items() if s.mode is not None}


def scheme_spec(scheme: str) -> Scheme:
    """The :class:`Scheme` of a scheme name (a ValueError listing the names if unknown)."""
    return SCHEME_TABLE[check_scheme(scheme)]


def pad_border(x: torch.Tensor, pads: Pads, scheme: str) -> torch.Tensor:
    """Pad ``x`` by ``pads`` = (left, right, top, bottom) with a mode scheme's border
    (:func:`padpos.padding_kernels.pad_by_mode`)."""
    return pad_by_mode(x, pads, _PAD_MODES[scheme])


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
    """``nn.Conv2d`` whose border is handled by a padding ``scheme`` (its :class:`Scheme`).

    ``padding`` is the "same" pad the conv would use with zero padding (default:
    dilation*(k-1)//2), stored as ``pad_hw`` = (pad_h, pad_w) per side; the parent's own
    ``padding`` is 0 because ``forward`` pads itself. ``extra_border`` (default 0; the F-Conv
    location test pads the first conv so) is added on every side, filled with the scheme's
    own border, and grows the output by 2 * extra_border / stride per dimension.
    ``state_dict`` keys stay ``weight`` / ``bias``; the partial-conv ratio map is cached in
    a plain dict (never in ``state_dict``), one entry per (H, W, device, dtype)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=None,
                 dilation=1, groups: int = 1, bias: bool = True, scheme: str = "zeros",
                 extra_border: int = 0, device=None, dtype=None) -> None:  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0,
                         dilation=dilation, groups=groups, bias=bias, device=device, dtype=dtype)  # fmt: skip
        if padding is None:
            padding = tuple(same_padding(k, d) for k, d in zip(self.kernel_size, self.dilation))
        self.scheme = scheme_spec(scheme)
        self.pad_hw = _pad_from_module(padding, self.kernel_size, self.dilation)
        self.extra_border = _check_border(extra_border)
        self._partial_ratio_cache: dict[tuple, torch.Tensor] = {}

    @property
    def padding_scheme(self) -> str:
        return self.scheme.name

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, scheme: str) -> "PaddedConv2d":
        """A PaddedConv2d that shares ``conv``'s parameters and uses its padding as the
        "same" pad (a PaddedConv2d keeps its ``pad_hw`` and ``extra_border``)."""
        if isinstance(conv, PaddedConv2d):
            pad_hw, border = conv.pad_hw, conv.extra_border
        else:
            pad_hw, border = _pad_from_module(conv.padding, conv.kernel_size, conv.dilation), 0
        new = cls(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride, padding=pad_hw,
                  dilation=conv.dilation, groups=conv.groups, bias=conv.bias is not None, scheme=scheme,
                  extra_border=border, device="meta")  # fmt: skip
        # share the very Parameter objects: exact copy, optimizer references stay valid
        new.weight = conv.weight
        new.bias = conv.bias
        new.train(conv.training)
        return new

    def side_pads(self) -> Pads:
        """(left, right, top, bottom) border this scheme adds, extra_border included
        (for ``none`` the amount the input is enlarged by resizing)."""
        b = self.extra_border
        ph, pw = self.scheme.conv_border(self.kernel_size, self.dilation, self.pad_hw)
        return (pw + b, pw + b, ph + b, ph + b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scheme.conv(self, x)

    def valid_conv(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        return F.conv2d(x, self.weight, bias, self.stride, 0, self.dilation, self.groups)

    def zero_padded_conv(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        left, right, top, bottom = self.side_pads()
        if left == right and top == bottom:  # the conv's own zero padding is the fast path
            return F.conv2d(x, self.weight, bias, self.stride, (top, left), self.dilation, self.groups)
        return self.valid_conv(F.pad(x, (left, right, top, bottom)), bias)

    def partial_ratio(self, height: int, width: int, device, dtype) -> torch.Tensor:
        """The 1 x 1 x h_out x w_out map k*k / (real input pixels under the kernel) for an
        H x W input (0 where the kernel sees no real pixel); computed once per
        (H, W, device, dtype) and cached."""
        key = (int(height), int(width), torch.device(device), dtype)
        ratio = self._partial_ratio_cache.get(key)
        if ratio is None:
            ratio = partial_ratio_map(self, height, width, device, dtype)
            self._partial_ratio_cache[key] = ratio
        return ratio

    def extra_repr(self) -> str:
        text = f"{super().extra_repr()}, scheme={self.padding_scheme}, pad_hw={self.pad_hw}"
        return text + (f", extra_border={self.extra_border}" if self.extra_border else "")


def partial_ratio_map(conv: PaddedConv2d, height: int, width: int, device, dtype) -> torch.Tensor:
    """k*k / (real input pixels under the kernel) of ``conv`` on an H x W input, 0 where the
    kernel sees no real pixel: 1 x 1 x h_out x w_out."""
    kh, kw = conv.kernel_size
    # counts are small integers, exact in float32; divide at float64 only if asked for
    real = F.pad(torch.ones(1, 1, height, width, device=device), conv.side_pads())
    count = F.conv2d(real, torch.ones(1, 1, kh, kw, device=device), stride=conv.stride, dilation=conv.dilation)
    if dtype == torch.float64:
        count = count.double()
    ratio = torch.where(count > 0, (kh * kw) / count.clamp(min=1), torch.zeros_like(count))
    return ratio.to(dtype)


def _check_border(border: int) -> int:
    if int(border) != border or border < 0:
        raise ValueError(f"extra_border must be a non-negative integer, got {border!r}")
    return int(border)


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


def conv2d(in_ch: int, out_ch: int, kernel_size: int, stride: int = 1, padding: int | None = None,
           bias: bool = False, scheme: str = "zeros", dilation: int = 1, groups: int = 1) -> PaddedConv2d:
    """Build a conv with a padding scheme (``padding=None``: "same", dilation*(k-1)//2)."""
    return PaddedConv2d(in_ch, out_ch, kernel_size, stride=stride, padding=padding, dilation=dilation,
                        groups=groups, bias=bias, scheme=scheme)  # fmt: skip


# ---------------------------------------------------------------- pooling
class _PaddedPoolMixin:
    """Shared border handling of the padded pooling layers (``pad_hw`` per side)."""

    scheme: Scheme
    pad_hw: tuple[int, int]

    def _init_scheme(self, scheme: str, padding) -> None:
        self.scheme = scheme_spec(scheme)
        self.pad_hw = _pad_from_module(padding, 1, 1)

    @property
    def padding_scheme(self) -> str:
        return self.scheme.name

    def side_pads(self) -> Pads:
        ph, pw = self.pad_hw
        return (pw, pw, ph, ph)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, scheme={self.padding_scheme}, pad_hw={self.pad_hw}"


class PaddedMaxPool2d(_PaddedPoolMixin, nn.MaxPool2d):
    """``nn.MaxPool2d`` with a padding scheme. zeros / partial / full keep PyTorch's
    native padding (padded pixels are -inf, i.e. ignored); reflect / replicate /
    circular pad with that mode and pool with padding 0; none resizes the input
    bilinearly by the pad; valid pools with padding 0."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, scheme="zeros") -> None:
        super().__init__(kernel_size, stride, 0, dilation, ceil_mode=ceil_mode)
        self._init_scheme(scheme, padding)

    @classmethod
    def from_pool(cls, pool: nn.MaxPool2d, scheme: str) -> "PaddedMaxPool2d":
        if pool.return_indices:
            raise ValueError("padding schemes do not support MaxPool2d(return_indices=True)")
        padding = pool.pad_hw if isinstance(pool, PaddedMaxPool2d) else pool.padding
        return cls(pool.kernel_size, pool.stride, padding, pool.dilation, pool.ceil_mode, scheme)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, padding = self.scheme.pool_input(self, x)
        return F.max_pool2d(x, self.kernel_size, self.stride, padding, self.dilation, self.ceil_mode)


class PaddedAvgPool2d(_PaddedPoolMixin, nn.AvgPool2d):
    """``nn.AvgPool2d`` with a padding scheme. zeros / full keep PyTorch's native
    padding (with the layer's own ``count_include_pad``); partial averages only real
    pixels (count_include_pad=False); reflect / replicate / circular / none / valid
    as for :class:`PaddedMaxPool2d`."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None, scheme="zeros") -> None:  # fmt: skip
        super().__init__(kernel_size, stride, 0, ceil_mode, count_include_pad, divisor_override)
        self._init_scheme(scheme, padding)

    @classmethod
    def from_pool(cls, pool: nn.AvgPool2d, scheme: str) -> "PaddedAvgPool2d":
        padding = pool.pad_hw if isinstance(pool, PaddedAvgPool2d) else pool.padding
        return cls(pool.kernel_size, pool.stride, padding, pool.ceil_mode, pool.count_include_pad,
                   pool.divisor_override, scheme)  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, padding = self.scheme.pool_input(self, x)
        include_pad = self.count_include_pad and self.scheme.avg_counts_pad
        return F.avg_pool2d(x, self.kernel_size, self.stride, padding, self.ceil_mode, include_pad,
                            self.divisor_override)  # fmt: skip


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
