"""Geometry of the canvas experiment (docs/protocols.md section 5): cells and rings of a
k x k grid, canvases, and the rule that sets k from the nets' receptive field.

A cell's *ring* is its distance to the canvas border in cells (0 = touches the border);
its *kind* is corner / edge / interior. The gap between an image and the nearest
canvas border is ``ring * cell`` pixels.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch

from padpos.names import CANVAS_COLOURS

COLOURS = CANVAS_COLOURS
RF_PROBE_PX = (128, 256, 512, 1024)  # input sides tried, smallest first, until the field fits inside


# ---------------------------------------------------------------- cells and rings
def cell_position(cell: int, k: int) -> tuple[int, int]:
    """(row, column) of cell index ``cell`` (row-major, as the ICCV 2021 code's labels)."""
    if not 0 <= cell < k * k:
        raise ValueError(f"cell {cell} is outside a {k} x {k} grid")
    return divmod(int(cell), k)


def cell_ring(cell: int, k: int) -> int:
    """Distance of the cell to the canvas border, in cells (0 = touches the border)."""
    row, col = cell_position(cell, k)
    return min(row, col, k - 1 - row, k - 1 - col)


def cell_kind(cell: int, k: int) -> str:
    """'corner', 'edge' or 'interior': where the cell lies relative to the canvas border."""
    row, col = cell_position(cell, k)
    on_row, on_col = row in (0, k - 1), col in (0, k - 1)
    if on_row and on_col:
        return "corner"
    if on_row or on_col:
        return "edge"
    return "interior"


def innermost_ring(k: int) -> int:
    """Ring index of the cells farthest from the canvas border."""
    return (k - 1) // 2


def canvas_colour(name: str, mean: Sequence[float]) -> torch.Tensor:
    """Pixel value (3,) in [0, 1] of a canvas colour name; ``mean`` = the data set's mean."""
    if name == "black":
        return torch.zeros(3)
    if name == "white":
        return torch.ones(3)
    if name == "mean":
        return torch.as_tensor(mean, dtype=torch.float32).reshape(3)
    raise ValueError(f"unknown canvas colour {name!r}; allowed: {', '.join(COLOURS)}")


def place_in_cells(images: torch.Tensor, cells: torch.Tensor, k: int, colour: torch.Tensor) -> torch.Tensor:
    """Pixel images N x 3 x s x s, each in its cell of a k x k grid on a canvas of
    ``colour``: N x 3 x ks x ks (pixel values)."""
    n, c, s, s2 = images.shape
    if s != s2:
        raise ValueError(f"cell images must be square, got {s} x {s2}")
    if len(cells) != n:
        raise ValueError(f"{n} images but {len(cells)} cells")
    out = colour.to(images).view(1, c, 1, 1).repeat(n, 1, k * s, k * s)
    rows, cols = torch.div(cells, k, rounding_mode="floor"), cells % k
    for cell in torch.unique(cells).tolist():
        idx = torch.nonzero(cells == cell).flatten()
        r, q = int(rows[idx[0]]), int(cols[idx[0]])
        out[idx, :, r * s : (r + 1) * s, q * s : (q + 1) * s] = images[idx]
    return out


# ---------------------------------------------------------------- the grid rule
def _probe_model(arch: str, width: int) -> torch.nn.Module:
    from padpos.models import build_model

    torch.manual_seed(0)
    model = build_model(arch, "zeros", 2, width=width).eval()
    if not hasattr(model, "avgpool"):
        raise ValueError(f"{arch} has no global pooling layer (avgpool) to measure a receptive field at")
    return model


def _pooled_map(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The map the global pooling of ``model`` reads, for input ``x``."""
    maps: list[torch.Tensor] = []
    hook = model.avgpool.register_forward_hook(lambda m, inp, out: maps.append(inp[0]))
    try:
        model(x)
    finally:
        hook.remove()
    return maps[0]


def total_stride(arch: str, width: int = 4) -> int:
    """Total stride of ``arch``'s deepest layer (input side / pooled map side)."""
    side = RF_PROBE_PX[1]
    with torch.no_grad():
        fmap = _pooled_map(_probe_model(arch, width), torch.zeros(1, 3, side, side))
    return int(round(side / fmap.shape[-1]))


def receptive_field(arch: str, width: int = 4) -> tuple[int, int]:
    """(receptive field in px, total stride) of the deepest layer of ``arch`` (the map its
    global pooling reads): the extent of the input gradient of that map's centre unit,
    summed over two random inputs (eval mode; the gradient outside the field is exactly
    0, inside it no ReLU closes every path for both), on the smallest probe input
    (:data:`RF_PROBE_PX`) that the field does not fill."""
    model = _probe_model(arch, width)
    for side in RF_PROBE_PX:
        grads = torch.zeros(side, side)
        gen = torch.Generator().manual_seed(0)
        for _ in range(2):
            x = torch.randn(1, 3, side, side, generator=gen).requires_grad_(True)
            fmap = _pooled_map(model, x)
            fmap[0, :, fmap.shape[2] // 2, fmap.shape[3] // 2].sum().backward()
            grads += x.grad[0].abs().sum(0)
        rows, cols = torch.nonzero(grads.sum(1)).flatten(), torch.nonzero(grads.sum(0)).flatten()
        extent = int(max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1)
        if extent < side:
            return extent, int(round(side / fmap.shape[-1]))
    raise ValueError(f"the receptive field of {arch} fills a {RF_PROBE_PX[-1]} px input")


def grid_for(rf_px: int, cell: int) -> int:
    """The rule for k (docs/protocols.md section 5): the smallest EVEN k whose innermost
    ring lies at least ``rf_px - 1`` px from the canvas border, so that no unit of the
    deepest layer sees both an innermost image and the border (or the padding). The
    innermost ring then has 4 cells that every net with global pooling maps to the same
    output (cells a multiple of the stride): its location accuracy is at most 25 % and
    the task cannot saturate, and its images are classified free of any border effect."""
    if rf_px < 1 or cell < 1:
        raise ValueError(f"receptive field {rf_px} px and cell {cell} px must be positive")
    ring = max(1, math.ceil((rf_px - 1) / cell))
    return 2 * ring + 2
