"""TensorFlow's "same" padding on loaded models, and other schemes swapped into it.

TensorFlow's ``padding="SAME"`` gives a conv of stride s an output of ceil(i / s) pixels
for an input of i: it pads ``total = max((ceil(i / s) - 1) * s + d * (k - 1) + 1 - i, 0)``
zeros, ``total // 2`` before and the rest after, so a stride-2 conv on an even input
pads one pixel more at the bottom / right than at the top / left (PyTorch's symmetric
``padding=k // 2`` differs there). Models converted from TensorFlow checkpoints
(EfficientNet-Lite through ``efficientnet-lite-pytorch``, timm's ``tf_*`` models) do it
as a conv with padding 0 after either

- a ``static_padding`` module, an ``nn.ZeroPad2d`` whose size was computed once, for the
  image size the model was built for (``Conv2dStaticSamePadding``): wrong at any other
  input size where a stride-2 layer meets an odd map (the location test's canvases, PPP's
  images with context), or
- the same formula in ``forward`` (``Conv2dDynamicSamePadding``, timm's ``Conv2dSame``).

:func:`adopt_tf_same` replaces every such conv of a loaded model by a :class:`TFSameConv2d`
(the same Parameters; the model's own ``ZeroPad2d`` is dropped, not kept beside it) that
recomputes the pad from each input's size. Its ``padding_scheme`` fills those pad amounts:
``zeros`` is TensorFlow's "same" (the model as published); ``reflect``, ``replicate``,
``circular``, ``symmetric`` fill the same asymmetric amounts with their border; ``partial``
rescales the zero-padded conv by k*k / (real pixels under the kernel); ``none`` resizes the
input by the pad amounts ([ISL21]); ``valid`` pads nothing, ``full`` d * (k - 1) per side.
:func:`padpos.padding.convert_padding` switches it through :meth:`TFSameConv2d.with_scheme`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# the class names of convs that compute TensorFlow's "same" pad in forward
# (efficientnet_pytorch / efficientnet-lite-pytorch, timm)
DYNAMIC_SAME_CONVS = ("Conv2dDynamicSamePadding", "Conv2dSame")
TF_SAME = "tf_same"  # how a model with these convs records its native padding

_MODE_SCHEMES = ("reflect", "replicate", "circular", "symmetric")


def tf_same_pad(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) of TensorFlow's "same" padding along one axis of ``size`` pixels."""
    total = max((math.ceil(size / stride) - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def is_tf_same_conv(module: nn.Module) -> bool:
    """A conv that pads itself TensorFlow's way: a ``static_padding`` ZeroPad2d (or an
    identity where the pad is 0) before a conv of padding 0, or a dynamic same-pad conv."""
    if isinstance(module, TFSameConv2d):
        return True
    if not isinstance(module, nn.Conv2d):
        return False
    if type(module).__name__ in DYNAMIC_SAME_CONVS:
        return True
    static = getattr(module, "static_padding", None)
    zero_pad = isinstance(static, nn.ZeroPad2d) or type(static).__name__ == "Identity"
    return zero_pad and tuple(module.padding) == (0, 0)


class TFSameConv2d(nn.Conv2d):
    """``nn.Conv2d`` padded by TensorFlow's "same" amounts for each input's size, the pad
    filled by ``padding_scheme`` (``zeros`` = TensorFlow's own). Parameters ``weight`` /
    ``bias`` as ``nn.Conv2d``: build it with :meth:`from_conv`, which shares them."""

    def __init__(self, *args, scheme: str = "zeros", **kwargs) -> None:
        super().__init__(*args, **{**kwargs, "padding": 0})
        from padpos.padding import check_scheme

        self.padding_scheme = check_scheme(scheme)
        self._ratio_cache: dict[tuple, torch.Tensor] = {}

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, scheme: str = "zeros") -> "TFSameConv2d":
        new = cls(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                  dilation=conv.dilation, groups=conv.groups, bias=conv.bias is not None, device="meta",
                  scheme=scheme)  # fmt: skip
        new.weight, new.bias = conv.weight, conv.bias  # the very Parameters: weights unchanged
        new.train(conv.training)
        return new

    def with_scheme(self, scheme: str) -> "TFSameConv2d":
        """This conv with ``scheme`` filling its pad (the hook of :func:`padpos.padding.convert_padding`)."""
        return TFSameConv2d.from_conv(self, scheme)

    def side_pads(self, height: int, width: int) -> tuple[int, int, int, int]:
        """(left, right, top, bottom) for an input of ``height`` x ``width``."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        if self.padding_scheme == "valid":
            return (0, 0, 0, 0)
        if self.padding_scheme == "full":
            return (dw * (kw - 1),) * 2 + (dh * (kh - 1),) * 2
        return tf_same_pad(width, kw, sw, dw) + tf_same_pad(height, kh, sh, dh)

    def _conv(self, x: torch.Tensor, bias) -> torch.Tensor:
        return F.conv2d(x, self.weight, bias, self.stride, 0, self.dilation, self.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scheme, pads = self.padding_scheme, self.side_pads(*x.shape[-2:])
        if scheme in _MODE_SCHEMES:
            from padpos.padding import pad_border

            return self._conv(pad_border(x, pads, scheme), self.bias)
        if scheme == "none":  # resized by the pad amounts, then a valid conv
            size = (x.shape[-2] + pads[2] + pads[3], x.shape[-1] + pads[0] + pads[1])
            return self._conv(F.interpolate(x, size=size, mode="bilinear", align_corners=False), self.bias)
        if scheme == "partial":
            out = self._conv(F.pad(x, pads), None)
            ratio = self._ratio(x.shape[-2], x.shape[-1], pads, out)
            out = out * ratio
            return out if self.bias is None else out + self.bias.to(out.dtype).view(1, -1, 1, 1) * (ratio > 0)
        return self._conv(F.pad(x, pads), self.bias)  # zeros, valid, full

    def _ratio(self, height: int, width: int, pads, out: torch.Tensor) -> torch.Tensor:
        key = (height, width, out.device, out.dtype)
        if key not in self._ratio_cache:
            kh, kw = self.kernel_size
            ones = F.pad(torch.ones(1, 1, height, width, device=out.device, dtype=out.dtype), pads)
            count = F.conv2d(ones, torch.ones(1, 1, kh, kw, device=out.device, dtype=out.dtype),
                             stride=self.stride, dilation=self.dilation)  # fmt: skip
            self._ratio_cache[key] = torch.where(count > 0, kh * kw / count.clamp(min=1), torch.zeros_like(count))
        return self._ratio_cache[key]

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, scheme={self.padding_scheme} (TensorFlow 'same' amounts)"


def adopt_tf_same(model: nn.Module) -> int:
    """Replace every TensorFlow-"same" conv of ``model`` (:func:`is_tf_same_conv`) by a
    :class:`TFSameConv2d` with the same Parameters, in place; the number replaced."""
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if is_tf_same_conv(child) and not isinstance(child, TFSameConv2d):
                setattr(parent, name, TFSameConv2d.from_conv(child))
                count += 1
    return count


def native_padding(model: nn.Module) -> str:
    """The padding of ``model`` as loaded: ``tf_same`` when it has TensorFlow-"same" convs,
    else the schemes :func:`padpos.padding.scheme_of` finds (``zeros`` for torchvision's CNNs)."""
    from padpos.padding import scheme_of

    if any(isinstance(m, TFSameConv2d) or is_tf_same_conv(m) for m in model.modules()):
        return TF_SAME
    return "+".join(sorted(scheme_of(model))) or "none found"


__all__ = ["TFSameConv2d", "TF_SAME", "adopt_tf_same", "is_tf_same_conv", "native_padding", "tf_same_pad"]
