"""The synthetic data set: procedurally rendered scenes of ten shape classes.

Scenes are functions of absolute scene coordinates, so a scene can be rendered
with any field of view (:func:`render_scenes` with ``margin``).
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Sequence

import numpy as np

from padpos.data.splits import SPLIT_IDS, SPLITS

if TYPE_CHECKING:
    import torch


# Ten shape classes. Every shape fits in the unit disc of its local frame, so the
# object's extent is its radius whatever the class: the range of object centres
# is then the same for every class and position carries no label information.
SHAPES = (
    "disc",
    "square",
    "triangle",
    "ring",
    "plus",
    "horizontal_bar",
    "vertical_bar",
    "diamond",
    "star",
    "ellipse",
)
# Object size and contrast, background texture strength: chosen so that the default study's
# small nets learn the task in a CPU budget (docs/data.md, "The default study's recipe")
RADIUS_RANGE = (0.25, 0.38)  # object radius, as a fraction of the image side
OBJECT_CONTRAST = (0.3, 0.5)  # per-channel distance of the object colour from mid-grey
BG_AMPLITUDE = (0.03, 0.08)  # per-component amplitude of the background texture
MAX_ROTATION_DEG = 15.0  # slight rotation: keeps square/diamond and the bars apart
BG_COMPONENTS = 48  # sinusoids in the 1/f background
BG_MIN_FREQ = 0.1  # cycles per image side: features up to 10 image sides wide (wide margins)
BG_MAX_FREQ_PER_PX = 0.35  # below Nyquist at every rendering size
BG_SPECTRAL_SLOPE = 0.5  # amplitude ~ f^-0.5 per log-spaced component: ~1/f amplitude spectrum


def scene_params(seed: int, split: str, indices: Sequence[int]) -> dict[str, np.ndarray]:
    """Parameters of scenes ``indices`` of ``split``; scene i depends only on (seed, split, i).

    Returns arrays (one row per scene): ``label``, ``center`` (x, y in image-side
    units, [0, 1] = the image), ``radius``, ``angle`` (radians), ``color`` (RGB in
    [0, 1]), and the background: ``bg_mean`` (RGB), ``bg_logfreq`` (in [0, 1]),
    ``bg_direction``, ``bg_phase``, ``bg_amp`` (K x RGB).
    """
    if split not in SPLIT_IDS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    rows = [_one_scene(seed, SPLIT_IDS[split], int(i)) for i in indices]
    if not rows:
        raise ValueError("no scene indices given")
    return {key: np.stack([r[key] for r in rows]) for key in rows[0]}


def _one_scene(seed: int, split_id: int, index: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, split_id, index])
    radius = rng.uniform(*RADIUS_RANGE)
    # centre uniform over every position where the whole object is visible
    center = rng.uniform(radius, 1.0 - radius, size=2)
    sign = rng.choice([-1.0, 1.0])  # object darker or lighter than the background
    color = np.clip(0.5 + sign * rng.uniform(*OBJECT_CONTRAST, size=3), 0.0, 1.0)
    luminance = rng.uniform(*BG_AMPLITUDE)  # per-component amplitude (texture contrast)
    tint = 1.0 + 0.35 * rng.standard_normal((BG_COMPONENTS, 3))
    return {
        "label": np.int64(rng.integers(len(SHAPES))),
        "center": center,
        "radius": np.float64(radius),
        "angle": np.float64(np.deg2rad(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG))),
        "color": color,
        "bg_mean": np.clip(0.5 + 0.12 * rng.standard_normal(3), 0.2, 0.8),
        "bg_logfreq": rng.uniform(0.0, 1.0, BG_COMPONENTS),
        "bg_direction": rng.uniform(0.0, 2 * np.pi, BG_COMPONENTS),
        "bg_phase": rng.uniform(0.0, 2 * np.pi, BG_COMPONENTS),
        "bg_amp": luminance * tint,
    }


def _pixel_centres(size: int, margin: int) -> "torch.Tensor":
    """Scene coordinates (image side = 1) of the pixel centres from -margin to size+margin."""
    import torch

    return (torch.arange(-margin, size + margin, dtype=torch.float64) + 0.5) / size


def _background(p: dict, size: int, margin: int) -> "torch.Tensor":
    """1/f-like colour texture: a sum of sinusoids of absolute scene coordinates (N x 3 x S x S)."""
    import torch

    coords = _pixel_centres(size, margin)  # (S,)
    fmax = BG_MAX_FREQ_PER_PX * size
    freq = BG_MIN_FREQ * (fmax / BG_MIN_FREQ) ** torch.from_numpy(p["bg_logfreq"])  # (N, K)
    direction = torch.from_numpy(p["bg_direction"])
    amp = torch.from_numpy(p["bg_amp"]) * (freq / BG_MIN_FREQ).pow(-BG_SPECTRAL_SLOPE)[..., None]
    fx = 2 * math.pi * freq * torch.cos(direction)
    fy = 2 * math.pi * freq * torch.sin(direction)
    # cos(ax + by + phase) = cos(ax + phase) cos(by) - sin(ax + phase) sin(by): separable in x, y
    ax = fx[..., None] * coords + torch.from_numpy(p["bg_phase"])[..., None]  # (N, K, S)
    by = fy[..., None] * coords
    right = torch.cat([torch.cos(ax), torch.sin(ax)], dim=1)[:, None]  # (N, 1, 2K, Sx)
    left = torch.cat([torch.cos(by), -torch.sin(by)], dim=1)  # (N, 2K, Sy)
    amp2 = torch.cat([amp, amp], dim=1)  # (N, 2K, 3)
    left = (left[:, None, :, :] * amp2.permute(0, 2, 1)[..., None]).transpose(
        2, 3
    )  # (N, 3, Sy, 2K)
    n, s = left.shape[0], left.shape[2]
    texture = torch.bmm(left.reshape(n, 3 * s, -1), right[:, 0]).reshape(n, 3, s, -1)
    return torch.from_numpy(p["bg_mean"])[..., None, None] + texture


def _box_sdf(u: "torch.Tensor", v: "torch.Tensor", bu: float, bv: float) -> "torch.Tensor":
    import torch

    qu, qv = u.abs() - bu, v.abs() - bv
    outside = torch.hypot(qu.clamp(min=0), qv.clamp(min=0))
    return outside + torch.maximum(qu, qv).clamp(max=0)


def _polygon_sdf(u, v, n_sides: int, apothem: float):
    """Signed distance to a regular polygon with a vertex up (exact inside, a bound outside)."""
    import torch

    d = None
    for k in range(n_sides):
        a = math.pi / 2 + math.pi / n_sides + 2 * math.pi * k / n_sides  # edge normal directions
        dk = u * math.cos(a) + v * math.sin(a) - apothem
        d = dk if d is None else torch.maximum(d, dk)
    return d


def _shape_sdf(shape: str, u: "torch.Tensor", v: "torch.Tensor") -> "torch.Tensor":
    """Signed distance (object radii, < 0 inside) of ``shape`` in its local frame (v up)."""
    import torch

    r = torch.hypot(u, v)
    if shape == "disc":
        return r - 1.0
    if shape == "square":
        return _box_sdf(u, v, 0.7, 0.7)
    if shape == "triangle":
        return _polygon_sdf(u, v, 3, 0.5)  # vertices on the unit circle
    if shape == "ring":
        return (r - 0.72).abs() - 0.28
    if shape == "plus":
        return torch.minimum(_box_sdf(u, v, 0.95, 0.28), _box_sdf(u, v, 0.28, 0.95))
    if shape == "horizontal_bar":
        return _box_sdf(u, v, 0.95, 0.3)
    if shape == "vertical_bar":
        return _box_sdf(u, v, 0.3, 0.95)
    if shape == "diamond":
        return (u.abs() + v.abs() - 1.0) / math.sqrt(2.0)
    if shape == "star":
        # five points: the boundary radius falls linearly from 1 (tips) to 0.42 between them
        sector = 2 * math.pi / 5
        theta = torch.remainder(torch.atan2(u, v) + sector / 2, sector) - sector / 2
        boundary = 1.0 - 0.58 * theta.abs() / (sector / 2)
        return (r - boundary) * 0.6
    if shape == "ellipse":
        k = torch.hypot(u / 1.0, v / 0.55)
        return (k - 1.0) * 0.55
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def _object_coverage(p: dict, size: int, margin: int) -> "torch.Tensor":
    """Anti-aliased coverage in [0, 1] of each scene's object (N x S x S)."""
    import torch

    coords = _pixel_centres(size, margin)
    n = len(p["label"])
    cover = torch.zeros(n, len(coords), len(coords), dtype=torch.float64)
    labels = torch.from_numpy(p["label"])
    for cls, shape in enumerate(SHAPES):
        idx = torch.nonzero(labels == cls).flatten()
        if len(idx) == 0:
            continue
        cx, cy = (torch.from_numpy(p["center"][idx.numpy(), k])[:, None, None] for k in (0, 1))
        radius = torch.from_numpy(p["radius"][idx.numpy()])[:, None, None]
        angle = torch.from_numpy(p["angle"][idx.numpy()])[:, None, None]
        dx = (coords[None, None, :] - cx) / radius
        dy = (cy - coords[None, :, None]) / radius  # image rows grow downwards; v points up
        u = torch.cos(angle) * dx + torch.sin(angle) * dy
        v = -torch.sin(angle) * dx + torch.cos(angle) * dy
        d_px = _shape_sdf(shape, u, v) * radius * size  # signed distance in pixels
        cover[idx] = (0.5 - d_px).clamp(0.0, 1.0)
    return cover


def render_scenes(
    seed: int, split: str, indices: Sequence[int], size: int, margin: int = 0
) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Render synthetic scenes: (uint8 N x 3 x (size+2m) x (size+2m), int64 labels).

    The image proper is the central ``size x size`` window; a margin widens the
    field of view of the same scene, so the central crop of a margin render equals
    the plain render exactly (every pixel is a function of its absolute scene
    coordinates, computed in float64 and rounded to uint8).
    """
    return render_scene_params(scene_params(seed, split, indices), size, margin)


def render_scene_params(
    p: dict[str, np.ndarray], size: int, margin: int = 0
) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Render scenes from their parameters (:func:`scene_params`, possibly edited, e.g.
    an object moved to a chosen distance from the border): like :func:`render_scenes`."""
    import torch

    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    background = _background(p, size, margin)
    cover = _object_coverage(p, size, margin)[:, None]
    color = torch.from_numpy(p["color"])[..., None, None]
    image = background * (1.0 - cover) + color * cover
    images = (image * 255.0).round().clamp(0, 255).to(torch.uint8)
    return images, torch.from_numpy(p["label"]).to(torch.int64)


def render_in_chunks(seed: int, split: str, n: int, size: int, chunk: int = 500):
    """All ``n`` scenes of a split, rendered in chunks (bounded memory), with a progress bar."""
    import torch
    from tqdm import tqdm

    images, labels = [], []
    for start in tqdm(range(0, n, chunk), desc=f"render {split}", file=sys.stderr):
        x, y = render_scenes(seed, split, range(start, min(n, start + chunk)), size)
        images.append(x)
        labels.append(y)
    return torch.cat(images), torch.cat(labels)
