"""The box task of the behavioural metric comparison (docs/protocols.md section 6c) and
its probe scenes.

A Red-Green-style task of the reliability stage's own (small, so that many nets train
cheaply): 32 x 32 black images with a red and a green 4 x 4 box; class 0 when red is
left of green. Two training splits differ only in whether the boxes' height predicts
the class:

- ``positional``: class 0 near row 7, class 1 near row 23 ([KAY20]'s split);
- ``neutral``: each image's height drawn independently of its class.

The test sets are [KAY20]'s: ``similar`` (class 0 at the top, class 1 at the bottom)
and ``dissimilar`` (the same images with every box moved 16 rows, so that each class
sits where the other trained). A net's behavioural gap is its accuracy on the first
minus on the second.

The probe scenes (``box_scenes``) are what every metric reads: black scenes with red
or green boxes at uniform positions, a crop and the same scene with real context.
"""

from __future__ import annotations

import numpy as np
import torch

SIZE = 32
BOX = 4
BASE_ROWS = (7, 23)  # the two heights (box top rows), one per class in the positional split
ROW_JITTER = (-4, 3)  # inclusive
SHIFT = 16  # rows between the two heights: the dissimilar set moves every box by it
MIN_GAP = BOX + 1  # the boxes never touch
LEFT_COLUMNS = (SIZE - BOX) // 2 - BOX  # the left box starts in columns 0 .. 9
SPLITS = ("positional", "neutral")
STREAMS = {"train": 0, "val": 1, "test": 2}  # one random stream per split of the data
BOXES_PER_AREA = 2 / (SIZE * SIZE)  # probe scenes: a task image's density of boxes


def _check(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown box-task split {split!r}; allowed: {', '.join(SPLITS)}")
    return split


def _columns(rng: np.random.Generator) -> tuple[int, int]:
    """The left and right boxes' columns, as in [KAY20]'s generator."""
    x1 = int(rng.integers(0, LEFT_COLUMNS))
    while True:
        x2 = int(rng.integers(x1, SIZE - BOX))
        if x2 - x1 >= MIN_GAP:
            return x1, x2


def draw(split: str, n: int, seed: int, stream: str) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images' boxes ``(red_row, red_col, green_row, green_col)`` and labels
    (alternating, even index class 0) of the ``split`` rule, from the random stream
    (seed, stream)."""
    _check(split)
    rng = np.random.default_rng([seed, STREAMS[stream], SPLITS.index(split)])
    labels = np.arange(n) % 2
    boxes = np.zeros((n, 4), dtype=np.int64)
    for i, label in enumerate(labels):
        height = label if split == "positional" else int(rng.integers(0, 2))
        rows = BASE_ROWS[height] + rng.integers(ROW_JITTER[0], ROW_JITTER[1] + 1, size=2)
        left, right = _columns(rng)
        red, green = (left, right) if label == 0 else (right, left)
        boxes[i] = (rows[0], red, rows[1], green)
    return boxes, labels.astype(np.int64)


def render(boxes: np.ndarray) -> torch.Tensor:
    """N x 3 x 32 x 32 float images: black, red box = 1 in channel 0, green in channel 1."""
    images = torch.zeros(len(boxes), 3, SIZE, SIZE)
    for i, (rr, rc, gr, gc) in enumerate(boxes):
        images[i, 0, rr : rr + BOX, rc : rc + BOX] = 1.0
        images[i, 1, gr : gr + BOX, gc : gc + BOX] = 1.0
    return images


def dissimilar(boxes: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every box of a class-0 image moved 16 rows down, of a class-1 image 16 rows up."""
    moved = boxes.copy()
    moved[:, [0, 2]] += np.where(labels == 0, SHIFT, -SHIFT)[:, None]
    return moved


def task_data(split: str, sizes: dict, seed: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``train`` and ``val`` of ``split``, and the ``similar`` / ``dissimilar`` test sets
    (the same for both splits: the positional split's placement, and its swap)."""
    out = {}
    for stream in ("train", "val"):
        boxes, labels = draw(split, int(sizes[stream]), seed, stream)
        out[stream] = (render(boxes), torch.from_numpy(labels))
    boxes, labels = draw("positional", int(sizes["test"]), seed, "test")
    out["similar"] = (render(boxes), torch.from_numpy(labels))
    out["dissimilar"] = (render(dissimilar(boxes, labels)), torch.from_numpy(labels))
    return out


def box_scenes(n: int, size: int, margin: int, seed: int, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` black scenes of (size + 2 margin) px with red or green 4 x 4 boxes at uniform
    positions (their number Poisson with a task image's density), and their centre
    ``size`` px crops: ``(crops, scenes)``, float32 in [0, 1]. Position is in neither the
    content nor its layout; the crop is exactly the centre of its scene."""
    side = size + 2 * margin
    rng = np.random.default_rng([seed, {"train": 10, "test": 11}[split]])
    scenes = torch.zeros(n, 3, side, side)
    for i in range(n):
        for _ in range(int(rng.poisson(BOXES_PER_AREA * side * side))):
            r, c = (int(v) for v in rng.integers(0, side - BOX + 1, size=2))
            scenes[i, int(rng.integers(0, 2)), r : r + BOX, c : c + BOX] = 1.0
    return scenes[..., margin : margin + size, margin : margin + size].clone(), scenes
