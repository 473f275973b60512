"""Data sets of a study: generated (synthetic), downloaded (CIFAR-10/100) or indexed (ImageFolder).

``prepare-data`` turns a study's ``data:`` config into a directory with cache
files and, written last, ``manifest.json`` (data set, classes, per-channel mean
and std of the train split, split sizes, cache file names and their sha256).
Everything downstream reads the data through the manifest:

- :func:`load_split` - a map-style data set of (normalised float 3 x H x W, label);
- :func:`split_tensors` - the whole split as tensors, for data kept in memory;
- :func:`context_crops` - the same crops with a margin of real context around
  them (``x_plus[..., m:m+H, m:m+W] == x``), the reference of the PPP metric.

The synthetic scenes are functions of absolute scene coordinates, so a scene
can be rendered with any field of view (:func:`render_scenes` with ``margin``).

``torch`` is imported inside functions: the Snakefile imports this module (for
:func:`download_spec`) when it parses, and should not pay for a torch import.
The data set classes are map-style (``__len__`` / ``__getitem__``), which is
all ``torch.utils.data.DataLoader`` and ``Subset`` need.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import math
import os
import pickle
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from padpos.io import atomic_path, save_torch, write_json

if TYPE_CHECKING:
    import torch

SPLITS = ("train", "test")
SPLIT_IDS = {
    "train": 0,
    "test": 1,
}  # mixed into every per-image seed: the splits never share scenes
MANIFEST_FORMAT = 1

# ---------------------------------------------------------------- downloads
CIFAR = {
    "cifar10": {
        "url": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "md5": "c58f30108f718f92721af3b95e74349a",
        "filename": "cifar-10-python.tar.gz",
        "members": {
            "train": [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)],
            "test": ["cifar-10-batches-py/test_batch"],
        },
        "meta": "cifar-10-batches-py/batches.meta",
        "names_key": "label_names",
        "labels_key": "labels",
    },
    "cifar100": {
        "url": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "md5": "eb9058c3a382ffc7106e4002c42a8d85",
        "filename": "cifar-100-python.tar.gz",
        "members": {"train": ["cifar-100-python/train"], "test": ["cifar-100-python/test"]},
        "meta": "cifar-100-python/meta",
        "names_key": "fine_label_names",
        "labels_key": "fine_labels",
    },
}
CHUNK_BYTES = 1 << 20


class DownloadError(RuntimeError):
    """A download failed or does not match its checksum; nothing was left at the output path."""


def download_spec(data_cfg: dict) -> dict | None:
    """What the workflow must download for ``data_cfg``: ``{"url", "md5", "filename"}`` or None.

    ``data_cfg["url"]`` (a mirror) replaces the official URL; the official md5 is
    still checked. Synthetic and ImageFolder data need no download.
    """
    dataset = data_cfg.get("dataset", "synthetic")
    if dataset not in CIFAR:
        return None
    official = CIFAR[dataset]
    return {
        "url": data_cfg.get("url") or official["url"],
        "md5": official["md5"],
        "filename": official["filename"],
    }


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK_BYTES), b""):
            h.update(chunk)
    return h.hexdigest()


def download(url: str, md5: str, output: str | os.PathLike, progress: bool = True) -> Path:
    """Download ``url`` (http, https or file) to ``output``, verified against ``md5``.

    The bytes stream into a temporary sibling file; only a complete file with the
    right checksum (and, for a tar archive, one that opens) is moved to ``output``.
    Any failure raises :class:`DownloadError` and leaves nothing at ``output``.
    """
    output = Path(output)
    with atomic_path(output) as tmp:
        received, expected_size, actual_md5 = _stream_to_file(url, tmp, output, progress)
        if expected_size is not None and received != expected_size:
            raise DownloadError(
                f"download of {url} to {output} is truncated: received {received} bytes, "
                f"the server announced {expected_size}; nothing was written to {output}"
            )
        if actual_md5 != md5.lower():
            raise DownloadError(
                f"download of {url} to {output} has the wrong md5 checksum: "
                f"expected {md5.lower()}, got {actual_md5} ({received} bytes); "
                f"nothing was written to {output}"
            )
        _check_archive_opens(tmp, output)
    return output


def _stream_to_file(
    url: str, tmp: Path, output: Path, progress: bool
) -> tuple[int, int | None, str]:
    """Copy the body of ``url`` into ``tmp``; return (bytes received, announced size, md5)."""
    from tqdm import tqdm

    h = hashlib.md5()
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as fh:
            length = response.headers.get("Content-Length")
            expected_size = int(length) if length is not None else None
            with tqdm(
                total=expected_size,
                unit="B",
                unit_scale=True,
                desc=output.name,
                disable=not progress,
                file=sys.stderr,
            ) as bar:
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    fh.write(chunk)
                    h.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        # URLError: unreachable / HTTP error status; HTTPException: broken or cut-off response
        raise DownloadError(f"download of {url} to {output} failed: {err!r}") from err
    return received, expected_size, h.hexdigest()


def _check_archive_opens(path: Path, output: Path) -> None:
    """A tar archive must list completely (a truncated gzip stream fails here)."""
    name = output.name
    if not (name.endswith(".tar.gz") or name.endswith(".tgz") or name.endswith(".tar")):
        return
    try:
        with tarfile.open(path) as tar:
            tar.getmembers()
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DownloadError(
            f"downloaded archive {output} does not open as a tar file ({err}); "
            f"nothing was written to {output}"
        ) from err


# ---------------------------------------------------------------- synthetic scenes
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
# small nets learn the task in a CPU budget (docs/data.md, "Why these parameters")
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
    import torch

    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    p = scene_params(seed, split, indices)
    background = _background(p, size, margin)
    cover = _object_coverage(p, size, margin)[:, None]
    color = torch.from_numpy(p["color"])[..., None, None]
    image = background * (1.0 - cover) + color * cover
    images = (image * 255.0).round().clamp(0, 255).to(torch.uint8)
    return images, torch.from_numpy(p["label"]).to(torch.int64)


def _render_in_chunks(seed: int, split: str, n: int, size: int, chunk: int = 500):
    """All ``n`` scenes of a split, rendered in chunks (bounded memory), with a progress bar."""
    import torch
    from tqdm import tqdm

    images, labels = [], []
    for start in tqdm(range(0, n, chunk), desc=f"render {split}", file=sys.stderr):
        x, y = render_scenes(seed, split, range(start, min(n, start + chunk)), size)
        images.append(x)
        labels.append(y)
    return torch.cat(images), torch.cat(labels)


# ---------------------------------------------------------------- CIFAR
def _subset(n_available: int, n_wanted: int | None, seed: int, split: str, key: str) -> np.ndarray:
    """Sorted indices of a seeded random subset (all when ``n_wanted`` is None)."""
    if n_wanted is None:
        return np.arange(n_available)
    if n_wanted > n_available:
        raise ValueError(
            f"config key 'data.{key}': {n_wanted} images asked for, "
            f"the {split} split has {n_available}"
        )
    rng = np.random.default_rng([seed, SPLIT_IDS[split], 7])
    return np.sort(rng.permutation(n_available)[:n_wanted])


def read_cifar(archive: str | os.PathLike, dataset: str) -> dict[str, Any]:
    """Read a CIFAR python archive without extracting it.

    Returns ``{"classes": [...], "train": (uint8 N x 3 x 32 x 32, int64 labels), "test": ...}``.
    """
    import torch

    info = CIFAR[dataset]
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(
            f"CIFAR archive {archive} does not exist (run the download rule first)"
        )
    out: dict[str, Any] = {}
    with tarfile.open(archive) as tar:
        out["classes"] = list(_unpickle(tar, info["meta"], archive)[info["names_key"]])
        for split, members in info["members"].items():
            batches = [_unpickle(tar, m, archive) for m in members]
            data = np.concatenate([np.asarray(b["data"], dtype=np.uint8) for b in batches])
            labels = np.concatenate(
                [np.asarray(b[info["labels_key"]], dtype=np.int64) for b in batches]
            )
            images = torch.from_numpy(data.reshape(-1, 3, 32, 32).copy())
            out[split] = (images, torch.from_numpy(labels))
    return out


def _unpickle(tar: tarfile.TarFile, member: str, archive: Path) -> dict:
    try:
        fh = tar.extractfile(member)
    except KeyError:
        fh = None
    if fh is None:
        raise ValueError(
            f"CIFAR archive {archive} has no member {member!r}; is it the right archive?"
        )
    with fh:
        return pickle.load(fh, encoding="latin1")


def _resize_uint8(images: "torch.Tensor", size: int) -> "torch.Tensor":
    """Resize square uint8 images to ``size`` (antialiased bilinear), in chunks."""
    import torch
    import torch.nn.functional as F

    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = []
    for chunk in images.split(1000):
        x = F.interpolate(
            chunk.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
        out.append(x.round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out)


# ---------------------------------------------------------------- ImageFolder
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".ppm", ".tif", ".tiff"}
IMAGEFOLDER_TEST_DIRS = ("val", "test")
MEAN_STD_SAMPLE = 1000  # train images used for the mean / std of an ImageFolder data set


def _imagefolder_split_dir(root: Path, split: str) -> Path:
    names = ("train",) if split == "train" else IMAGEFOLDER_TEST_DIRS
    for name in names:
        if (root / name).is_dir():
            return root / name
    raise FileNotFoundError(
        f"ImageFolder {root}: no {' or '.join(n + '/' for n in names)} folder for the {split} split"
    )


def index_imagefolder(root: str | os.PathLike) -> dict[str, Any]:
    """File lists of an ImageFolder tree: ``{"classes", "train": [(relpath, label)], "test"}``.

    Classes are the sorted sub-folders of ``train/``; a class folder of ``val/``
    (or ``test/``) that train/ lacks is an error, naming it.
    """
    root = Path(root)
    train_dir = _imagefolder_split_dir(root, "train")
    classes = sorted(d.name for d in train_dir.iterdir() if d.is_dir())
    if not classes:
        raise ValueError(f"ImageFolder {train_dir} has no class folders")
    out: dict[str, Any] = {"classes": classes}
    for split in SPLITS:
        split_dir = _imagefolder_split_dir(root, split)
        unknown = sorted({d.name for d in split_dir.iterdir() if d.is_dir()} - set(classes))
        if unknown:
            raise ValueError(
                f"ImageFolder {split_dir}: class folders {unknown} are not in {train_dir}"
            )
        items = []
        for label, name in enumerate(classes):
            folder = split_dir / name
            if not folder.is_dir():
                continue
            for f in sorted(folder.rglob("*")):
                if f.suffix.lower() in IMAGE_EXTENSIONS and f.is_file():
                    items.append((f.relative_to(root).as_posix(), label))
        if not items:
            raise ValueError(
                f"ImageFolder {split_dir} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))})"
            )
        out[split] = items
    return out


def _open_rgb(path: Path):
    from PIL import Image

    with Image.open(path) as img:
        return img.convert("RGB")


def _resize_crop(img, side: int) -> "torch.Tensor":
    """Resize a PIL image's shorter side to ``side``, centre-crop: uint8 3 x side x side."""
    import torch
    from PIL import Image

    w, h = img.size
    scale = side / min(w, h)
    new_w, new_h = max(side, round(w * scale)), max(side, round(h * scale))
    img = img.resize((new_w, new_h), Image.BILINEAR)
    left, top = (new_w - side) // 2, (new_h - side) // 2
    img = img.crop((left, top, left + side, top + side))
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1).contiguous()


# ---------------------------------------------------------------- prepare-data + manifest
def _channel_mean_std(batches) -> tuple[list[float], list[float]]:
    """Per-channel mean and std (population) of uint8 image batches, on the [0, 1] scale."""
    import torch

    total = torch.zeros(3, dtype=torch.float64)
    total_sq = torch.zeros(3, dtype=torch.float64)
    count = 0
    for x in batches:
        x = x.to(torch.float64) / 255.0
        total += x.sum(dim=(0, 2, 3))
        total_sq += (x * x).sum(dim=(0, 2, 3))
        count += x.shape[0] * x.shape[2] * x.shape[3]
    if count == 0:
        raise ValueError("cannot compute the mean / std of an empty train split")
    mean = total / count
    std = (total_sq / count - mean * mean).clamp(min=0).sqrt()
    return mean.tolist(), std.tolist()


def prepare_data(spec: dict, out_dir: str | os.PathLike) -> dict:
    """Build the cache of a study's data set in ``out_dir`` and write ``manifest.json`` last.

    ``spec`` is the study's ``data:`` config (defaults filled). Returns the manifest.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset = spec.get("dataset", "synthetic")
    builders = {
        "synthetic": _prepare_synthetic,
        "cifar10": _prepare_cifar,
        "cifar100": _prepare_cifar,
        "imagefolder": _prepare_imagefolder,
    }
    if dataset not in builders:
        raise ValueError(
            f"config key 'data.dataset': unknown data set {dataset!r}; "
            f"allowed: {', '.join(builders)}"
        )
    manifest = builders[dataset](spec, out_dir)
    manifest.update(
        format=MANIFEST_FORMAT,
        dataset=dataset,
        image_size=int(spec["image_size"]),
        num_classes=len(manifest["classes"]),
        spec=spec,
        files={name: file_digest(out_dir / name) for name in _cache_files(manifest)},
    )
    write_json(out_dir / "manifest.json", manifest)
    return manifest


def _cache_files(manifest: dict) -> list[str]:
    return [manifest["splits"][s]["file"] for s in SPLITS]


def _prepare_synthetic(spec: dict, out_dir: Path) -> dict:
    size, seed = int(spec["image_size"]), int(spec["seed"])
    splits, stats = {}, None
    for split, key in (("train", "num_train"), ("test", "num_test")):
        n = spec.get(key)
        if n is None:
            raise ValueError(f"config key 'data.{key}': synthetic data needs a number of images")
        images, labels = _render_in_chunks(seed, split, int(n), size)
        if split == "train":
            stats = _channel_mean_std(images.split(1000))
        splits[split] = {"size": int(n), "file": _save_split(out_dir, split, images, labels)}
    return {
        "classes": list(SHAPES),
        "mean": stats[0],
        "std": stats[1],
        "splits": splits,
        "storage": "tensors",
        "seed": seed,
    }


def _save_split(out_dir: Path, split: str, images, labels) -> str:
    """Write one split's uint8 images and int64 labels as ``<split>.pt``; return the file name."""
    import torch

    name = f"{split}.pt"
    save_torch(out_dir / name, {"images": images.contiguous(), "labels": labels.to(torch.int64)})
    return name


def _prepare_cifar(spec: dict, out_dir: Path) -> dict:
    dataset, size, seed = spec["dataset"], int(spec["image_size"]), int(spec["seed"])
    archive = Path(spec.get("download_dir", "resources/downloads")) / CIFAR[dataset]["filename"]
    raw = read_cifar(archive, dataset)
    splits, stats = {}, None
    for split, key in (("train", "num_train"), ("test", "num_test")):
        images, labels = raw[split]
        chosen = _subset(len(labels), spec.get(key), seed, split, key)
        images = _resize_uint8(images[chosen], size)
        labels = labels[chosen]
        if split == "train":
            stats = _channel_mean_std(images.split(1000))
        splits[split] = {
            "size": len(chosen),
            "file": _save_split(out_dir, split, images, labels),
            "source_indices_sha256": hashlib.sha256(chosen.astype(np.int64).tobytes()).hexdigest(),
        }
    return {
        "classes": raw["classes"],
        "mean": stats[0],
        "std": stats[1],
        "splits": splits,
        "storage": "tensors",
        "seed": seed,
        "source": {"archive": str(archive), "md5": CIFAR[dataset]["md5"]},
    }


def _prepare_imagefolder(spec: dict, out_dir: Path) -> dict:
    if not spec.get("path"):
        raise ValueError("config key 'data.path': required when data.dataset is 'imagefolder'")
    root = Path(spec["path"]).resolve()
    size, seed = int(spec["image_size"]), int(spec["seed"])
    index = index_imagefolder(root)
    splits, chosen_items = {}, {}
    for split, key in (("train", "num_train"), ("test", "num_test")):
        chosen = _subset(len(index[split]), spec.get(key), seed, split, key)
        chosen_items[split] = [index[split][i] for i in chosen]
        name = f"index_{split}.json"
        write_json(out_dir / name, {"root": str(root), "items": chosen_items[split]})
        splits[split] = {"size": len(chosen), "file": name}
    train_items = chosen_items["train"]
    sample = _subset(len(train_items), min(MEAN_STD_SAMPLE, len(train_items)), seed, "train", "")
    mean, std = _channel_mean_std(
        _resize_crop(_open_rgb(root / train_items[i][0]), size)[None]
        for i in _progress(sample, "mean/std")
    )
    return {
        "classes": index["classes"],
        "mean": mean,
        "std": std,
        "splits": splits,
        "storage": "index",
        "seed": seed,
        "root": str(root),
    }


def _progress(items, desc: str):
    from tqdm import tqdm

    return tqdm(items, desc=desc, file=sys.stderr)


# ---------------------------------------------------------------- reading a prepared data set
IN_MEMORY_LIMIT_BYTES = 2 << 30  # split_tensors refuses an ImageFolder split larger than this
_VERIFIED: dict[tuple, bool] = {}  # (path, size, mtime) of cache files already checksummed


def read_manifest(manifest_path: str | os.PathLike) -> dict:
    """The manifest of a prepared data set (an error names a missing or incomplete one)."""
    path = Path(manifest_path)
    if not path.is_file():
        raise FileNotFoundError(f"data manifest {path} does not exist (run the prepare_data rule)")
    manifest = json.loads(path.read_text())
    missing = {"dataset", "image_size", "num_classes", "mean", "std", "splits", "files"} - set(
        manifest
    )
    if missing:
        raise ValueError(
            f"data manifest {path} lacks the keys {sorted(missing)}; prepare the data again"
        )
    manifest["_dir"] = str(path.parent)
    return manifest


def _cache_path(manifest: dict, split: str) -> Path:
    """Path of a split's cache file, checked against the manifest's sha256 (once per process)."""
    if split not in manifest["splits"]:
        raise ValueError(
            f"unknown split {split!r}; the data set has {', '.join(manifest['splits'])}"
        )
    name = manifest["splits"][split]["file"]
    path = Path(manifest["_dir"]) / name
    if not path.is_file():
        raise FileNotFoundError(f"data cache file {path} (listed in the manifest) does not exist")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        actual = file_digest(path)
        if actual != manifest["files"][name]:
            raise ValueError(
                f"data cache file {path} is corrupt or stale: sha256 {actual}, the manifest "
                f"expects {manifest['files'][name]}; delete "
                f"{Path(manifest['_dir']) / 'manifest.json'} and prepare the data again"
            )
        _VERIFIED[key] = True
    return path


def normalise(
    images: "torch.Tensor", mean: Sequence[float], std: Sequence[float]
) -> "torch.Tensor":
    """uint8 images (... x 3 x H x W) -> float32, per channel (x / 255 - mean) / std."""
    import torch

    m = torch.tensor(mean, dtype=torch.float32)[:, None, None]
    s = torch.tensor(std, dtype=torch.float32)[:, None, None]
    return (images.to(torch.float32) / 255.0 - m) / s


class _Split:
    """What every split exposes besides its items."""

    def __init__(self, manifest: dict, split: str):
        self.split = split
        self.dataset = manifest["dataset"]
        self.classes = list(manifest["classes"])
        self.num_classes = int(manifest["num_classes"])
        self.mean = list(manifest["mean"])
        self.std = list(manifest["std"])
        self.image_size = int(manifest["image_size"])


class TensorSplit(_Split):
    """A split held in memory as uint8 images (synthetic, CIFAR); items are normalised on access."""

    def __init__(self, manifest: dict, split: str):
        import torch

        super().__init__(manifest, split)
        cache = torch.load(_cache_path(manifest, split), weights_only=True)
        self.images, self.labels = cache["images"], cache["labels"]
        self.targets = self.labels.tolist()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return normalise(self.images[i], self.mean, self.std), int(self.labels[i])


class ImageFolderSplit(_Split):
    """A split read from image files on access: shorter side resized to image_size, centre crop."""

    def __init__(self, manifest: dict, split: str):
        super().__init__(manifest, split)
        index = json.loads(_cache_path(manifest, split).read_text())
        self.root = Path(index["root"])
        self.files = [self.root / rel for rel, _ in index["items"]]
        self.targets = [int(label) for _, label in index["items"]]

    def __len__(self) -> int:
        return len(self.files)

    def uint8(self, i: int) -> "torch.Tensor":
        return _resize_crop(_open_rgb(self.files[i]), self.image_size)

    def __getitem__(self, i: int):
        return normalise(self.uint8(i), self.mean, self.std), self.targets[i]


def load_split(manifest_path: str | os.PathLike, split: str):
    """A map-style data set of (float32 3 x H x W, normalised with the manifest's mean/std, label).

    Attributes: ``num_classes``, ``classes``, ``mean``, ``std``, ``image_size``, ``targets``.
    """
    manifest = read_manifest(manifest_path)
    if manifest.get("storage") == "index":
        return ImageFolderSplit(manifest, split)
    return TensorSplit(manifest, split)


class TooLargeForMemory(NotImplementedError):
    """A split is too large for :func:`split_tensors`; read it with :func:`load_split`."""


def split_tensors(
    manifest_path: str | os.PathLike, split: str
) -> tuple["torch.Tensor", "torch.Tensor"]:
    """The whole split as tensors: (float32 N x 3 x H x W normalised, int64 labels).

    For data kept in memory (synthetic, CIFAR). An ImageFolder split is read file
    by file when it takes at most IN_MEMORY_LIMIT_BYTES as float32; a larger one
    raises :class:`TooLargeForMemory` (a NotImplementedError: callers fall back to
    :func:`load_split` and a DataLoader).
    """
    import torch

    ds = load_split(manifest_path, split)
    if isinstance(ds, TensorSplit):
        return normalise(ds.images, ds.mean, ds.std), ds.labels.clone()
    need = len(ds) * 3 * ds.image_size**2 * 4
    if need > IN_MEMORY_LIMIT_BYTES:
        raise TooLargeForMemory(
            f"the {split} split of {ds.root} would take {need / 2**30:.1f} GiB in memory "
            f"(limit {IN_MEMORY_LIMIT_BYTES / 2**30:.0f} GiB); use load_split() with a DataLoader"
        )
    images = torch.stack([ds.uint8(i) for i in _progress(range(len(ds)), f"read {split}")])
    return normalise(images, ds.mean, ds.std), torch.tensor(ds.targets, dtype=torch.int64)


# ---------------------------------------------------------------- context crops (PPP reference)
def context_crops(
    manifest_path: str | os.PathLike, split: str, indices: Sequence[int], margin: int
) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Crops and the same crops with ``margin`` pixels of real context on every side.

    Returns normalised float32 ``(x, x_plus)``: x is N x 3 x H x W, x_plus is
    N x 3 x (H+2m) x (W+2m), and ``x_plus[..., m:m+H, m:m+W] == x`` exactly.
    Synthetic scenes are re-rendered with a wider field of view (x equals the
    training images); CIFAR images are surrounded by a mosaic of other images of
    the split; ImageFolder crops take the context from the source image resized
    so that its shorter side is H + 2m (x is then that image's central crop), or
    a mosaic when the source is smaller than H + 2m.
    """
    import torch

    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    manifest = read_manifest(manifest_path)
    indices = [int(i) for i in indices]
    n_split = int(manifest["splits"][split]["size"])
    bad = [i for i in indices if not 0 <= i < n_split]
    if bad:
        raise IndexError(f"indices {bad[:5]} are outside the {split} split (size {n_split})")
    if manifest["dataset"] == "synthetic":
        x_plus, _ = render_scenes(
            int(manifest["seed"]), split, indices, int(manifest["image_size"]), margin
        )
    elif manifest.get("storage") == "index":
        x_plus = _imagefolder_context(manifest, split, indices, margin)
    else:
        ds = TensorSplit(manifest, split)
        x_plus = torch.stack(
            [_mosaic(manifest, split, i, margin, ds.images.__getitem__) for i in indices]
        )
    x_plus = normalise(x_plus, manifest["mean"], manifest["std"])
    size = int(manifest["image_size"])
    x = x_plus[..., margin : margin + size, margin : margin + size].clone()
    return x, x_plus


def mosaic_neighbours(seed: int, split: str, index: int, n_split: int, count: int) -> np.ndarray:
    """The other images of the split that surround image ``index`` in its mosaic (deterministic)."""
    if n_split == 1:
        return np.full(count, index)
    rng = np.random.default_rng([seed, SPLIT_IDS[split], index, 99])
    # distinct neighbours while the split has enough images, then with repetition
    picks = rng.choice(n_split - 1, size=count, replace=count > n_split - 1)
    return picks + (picks >= index)  # skip the centre image itself


def _mosaic(manifest: dict, split: str, index: int, margin: int, get_uint8) -> "torch.Tensor":
    """Image ``index`` at the centre of a grid of other images of the split, cropped to H+2m."""
    import torch

    centre = get_uint8(index)
    _, h, w = centre.shape
    k = max(math.ceil(margin / h), math.ceil(margin / w))  # rings of tiles needed
    side = 2 * k + 1
    neighbours = iter(
        mosaic_neighbours(
            int(manifest["seed"]),
            split,
            index,
            int(manifest["splits"][split]["size"]),
            side * side - 1,
        ).tolist()
    )
    canvas = torch.empty(3, side * h, side * w, dtype=torch.uint8)
    for row in range(side):
        for col in range(side):
            tile = centre if (row, col) == (k, k) else get_uint8(next(neighbours))
            canvas[:, row * h : (row + 1) * h, col * w : (col + 1) * w] = tile
    return canvas[
        :, k * h - margin : (k + 1) * h + margin, k * w - margin : (k + 1) * w + margin
    ].clone()


def _imagefolder_context(
    manifest: dict, split: str, indices: list[int], margin: int
) -> "torch.Tensor":
    import torch

    ds = ImageFolderSplit(manifest, split)
    side = ds.image_size + 2 * margin
    crops = []
    for i in indices:
        img = _open_rgb(ds.files[i])
        if min(img.size) >= side:
            crops.append(_resize_crop(img, side))  # real surrounding pixels, never upsampled
        else:
            crops.append(_mosaic(manifest, split, i, margin, ds.uint8))
    return torch.stack(crops)


# ---------------------------------------------------------------- command line
def _configure_download(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", required=True, help="http(s):// or file:// URL")
    p.add_argument("--md5", required=True, help="expected md5 checksum of the file")
    p.add_argument("--output", required=True, help="where the verified file is placed")


def _run_download(args: argparse.Namespace) -> None:
    download(args.url, args.md5, args.output)


def _configure_prepare(p: argparse.ArgumentParser) -> None:
    from padpos.cli import json_arg

    p.add_argument("--spec", required=True, type=json_arg, help="the study's data: config as JSON")
    p.add_argument(
        "--out-dir", required=True, help="directory for the cache files and manifest.json"
    )


def _run_prepare(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(
        1
    )  # the rule runs single-threaded; more threads only contend on small tensors
    manifest = prepare_data(args.spec, args.out_dir)
    sizes = ", ".join(f"{s} {manifest['splits'][s]['size']}" for s in SPLITS)
    print(
        f"prepared {manifest['dataset']}: {sizes} images, {manifest['num_classes']} classes",
        file=sys.stderr,
    )


from padpos.cli import Command  # noqa: E402  (cli imports modules lazily; no cycle at import)

CLI = {
    "download": Command(
        _configure_download, _run_download, "download a file and verify its checksum"
    ),
    "prepare-data": Command(
        _configure_prepare,
        _run_prepare,
        "generate or download a study's data set into a checksummed cache",
    ),
}
