"""A check that a pretrained model's weights are real, before any probe measures it.

The model classifies photographs that ship inside the scikit-image wheel (offline; the
ones fetched through pooch are not used) at its native input size, normalised its own
way: each photograph's shorter side resized to the native size, the centre cropped
(torchvision's evaluation transform without the 256 / 224 margin). Recorded per
photograph: the top-1 class and whether one of the photograph's ImageNet classes is the
top-1 / among the top-5 (not probabilities).

Rule (fixed before any model was checked): the model passes when, for every photograph,
one of its classes is among the top 5. A model that fails (wrong normalisation, wrong key
mapping, random weights) has every probe row flagged ``failed`` (tables keep it out of
their statistics; claims read no failed run). A model whose output is no 1000-way
ImageNet logit vector (a padpos checkpoint, a feature extractor) is not applicable: its
rows say so and its probes are not flagged.
"""

from __future__ import annotations

import time

import pandas as pd
import torch

# photograph (skimage.data, bundled in the wheel) -> the ImageNet-1k classes that name what it shows
PHOTO_CLASSES: dict[str, dict[int, str]] = {
    "chelsea": {281: "tabby", 282: "tiger cat", 285: "Egyptian cat"},  # a cat (tabby, Egyptian-cat-like)
    "coffee": {967: "espresso", 968: "cup"},  # a cup of espresso
    "rocket": {657: "missile", 744: "projectile, missile"},  # a rocket on its launch pad
}
IMAGENET_CLASSES = 1000
TOP_K = 5


def native_size(loaded) -> int:
    """The model's native input size: its ``pretrained_cfg`` (timm, ``python:`` models), else
    the loader's record (torchvision's crop size), else 224."""
    cfg = getattr(loaded.model, "pretrained_cfg", None) or {}
    if cfg.get("input_size"):
        return int(cfg["input_size"][-1])
    return int(loaded.facts.get("input_size", 224))


def photo_batch(size: int, mean, std) -> torch.Tensor:
    """The photographs of :data:`PHOTO_CLASSES` as one normalised batch, ``size`` px square."""
    from torchvision.transforms.functional import center_crop, resize

    from padpos.data.photos import load_photo

    crops = torch.stack([center_crop(resize(load_photo(n), size, antialias=True), size) for n in PHOTO_CLASSES])
    return (crops - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)  # pixels in [0, 1]


@torch.no_grad()
def check_photos(loaded) -> pd.DataFrame:
    """One row per photograph: ``photo``, ``expected`` (its classes), ``top1``, ``top5``
    (class ids), ``top1_correct``, ``top5_correct``, ``size``, ``status`` (``checked`` /
    ``not applicable``) and the model's verdict ``passed`` (every photograph's class in the
    top 5; empty when not applicable)."""
    size = native_size(loaded)
    model = loaded.model.eval()
    device = next(model.parameters()).device
    out = model(photo_batch(size, loaded.mean, loaded.std).to(device))
    rows = []
    applicable = torch.is_tensor(out) and out.dim() == 2 and out.shape[1] == IMAGENET_CLASSES
    for i, (photo, classes) in enumerate(PHOTO_CLASSES.items()):
        row = {"photo": photo, "expected": " ".join(map(str, classes)), "size": size}
        if applicable:
            top = out[i].topk(TOP_K).indices.tolist()
            row.update(top1=top[0], top5=" ".join(map(str, top)), top1_correct=top[0] in classes,
                       top5_correct=bool(set(top) & set(classes)), status="checked")  # fmt: skip
        else:
            row.update(top1=None, top5="", top1_correct=None, top5_correct=None, status="not applicable")
        rows.append(row)
    table = pd.DataFrame(rows)
    table["passed"] = bool(table["top5_correct"].all()) if applicable else None
    return table


def write_check(model: str, record_path, output) -> None:
    """The photo-check job of one model: its per-run CSV (provenance beside it)."""
    from padpos import runtime
    from padpos.stages.pretrained.probes import read_record
    from padpos.stages.pretrained.weights import load_model

    started = time.time()
    loaded = load_model(model, read_record(record_path), taps=False)
    table = check_photos(loaded)
    table.insert(0, "model", model)
    runtime.write_result(table, output, {"model": model}, started, "cpu", **loaded.facts,
                         weights_record=str(record_path))  # fmt: skip


def read_verdict(path) -> bool | None:
    """A photo check's verdict (True / False; None when not applicable)."""
    table = pd.read_csv(path)
    if "passed" not in table.columns or table.empty:
        raise ValueError(f"photo check {path} has no verdict (column 'passed')")
    value = table["passed"].iloc[0]
    if pd.isna(value):
        return None
    return str(value).lower() in ("true", "1", "1.0")


__all__ = ["PHOTO_CLASSES", "check_photos", "native_size", "photo_batch", "read_verdict", "write_check"]
