"""The CPU kernels that make the padding schemes fast (what each scheme IS lives in
:mod:`padpos.padding`; this module knows border modes and pad amounts, no scheme names).

- :func:`pad_by_mode`: a border mode (``reflect``, ``replicate``, ``circular``,
  ``symmetric``) by ``F.pad``, one gather, a 0/1 matrix (small maps) or :class:`_BorderPad`
  (CPU training: a lean backward); pads beyond the map repeat as ``numpy.pad`` does;
- :func:`mode_padded_conv`: pad + valid conv, on the CPU in training as one autograd node
  (:class:`_FusedPadConv`, whose backward folds the border into the gradient in place,
  :func:`_fold_border_in_place`);
- :func:`resize_by`: the bilinear resize of ``none``, on the CPU as products with cached
  resize matrices (``F.interpolate``'s own weights).

Every kernel gives ``F.pad`` / ``F.interpolate``'s values (tests/test_padding.py checks
them and their gradients); they exist because PyTorch's generic CPU kernels made these
schemes 20-40 % slower than zero padding.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

# (left, right, top, bottom), the order F.pad takes for the last two dims
Pads = tuple[int, int, int, int]


# ---------------------------------------------------------------- border modes
def pad_by_mode(x: torch.Tensor, pads: Pads, mode: str) -> torch.Tensor:
    """Pad ``x`` by ``pads`` = (left, right, top, bottom) with the border ``mode``
    (``reflect``, ``replicate``, ``circular`` or ``symmetric``).

    For ``reflect`` / ``circular`` a pad that is not smaller than the map (e.g. a
    1 x 1 map deep in a ResNet on 32 px inputs) is beyond ``F.pad``; then the
    reflection / wrap-around is repeated as numpy.pad does (a 1-pixel map reflects
    to itself). ``symmetric`` (not an ``F.pad`` mode) is ``F.pad(mode="replicate")``
    for pads of at most 1 (the same values) and gathers by index beyond.

    On the CPU the pad is a :class:`_BorderPad` (same values; its backward copies
    the interior gradient once and adds the thin border strips back, instead of
    ``F.pad``'s generic backward, which made these schemes 20-40 % slower than
    zeros); on other devices it is ``F.pad`` (one native kernel each way)."""
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


def mode_padded_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, pads: Pads,
                     mode: str, stride, dilation, groups: int) -> torch.Tensor:
    """``conv2d(pad_by_mode(x, pads, mode), weight, bias)`` with no padding of its own: one
    fused autograd node in CPU training (:class:`_FusedPadConv`), the pad then the conv
    otherwise."""
    if _use_fused_pad_conv(x):
        return _FusedPadConv.apply(x, weight, bias, pads, mode, stride, dilation, groups)
    return F.conv2d(pad_by_mode(x, pads, mode), weight, bias, stride, 0, dilation, groups)


# ------------------------------------------------ mode-padded conv, CPU training
def _use_fused_pad_conv(x: torch.Tensor) -> bool:
    """Whether a mode-padded conv takes :class:`_FusedPadConv`: CPU training on a map
    larger than the small maps that :func:`pad_by_mode` pads by one GEMM."""
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


# ---------------------------------------------------------------- resizing (none)
def resize_by(x: torch.Tensor, pads: Pads, exact: bool = False) -> torch.Tensor:
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


__all__ = ["Pads", "mode_padded_conv", "pad_by_mode", "resize_by"]
