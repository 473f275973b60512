"""Data sets: synthetic scenes, manifest, splits, context crops, CIFAR, ImageFolder, downloads.

Everything runs offline: CIFAR is a fake archive with the real pickle layout,
served by a local HTTP server; ImageFolder is a tiny tree of PNGs.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import pickle
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from padpos import data
from padpos.cli import main as cli_main

SPEC = {
    "dataset": "synthetic",
    "path": None,
    "download_dir": "unused",
    "url": None,
    "image_size": 32,
    "num_train": 60,
    "num_test": 30,
    "seed": 7,
}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    data.prepare_data(dict(SPEC), out)
    return out / "manifest.json"


# ---------------------------------------------------------------- download_spec
def test_download_spec_official_mirror_and_none():
    assert data.download_spec({"dataset": "synthetic"}) is None
    assert data.download_spec({"dataset": "imagefolder", "path": "x"}) is None
    c10 = data.download_spec({"dataset": "cifar10", "url": None})
    assert c10 == {
        "url": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "md5": "c58f30108f718f92721af3b95e74349a",
        "filename": "cifar-10-python.tar.gz",
    }
    c100 = data.download_spec({"dataset": "cifar100", "url": "https://mirror.example/c100.tgz"})
    assert c100["url"] == "https://mirror.example/c100.tgz"  # the mirror replaces the URL ...
    assert c100["md5"] == "eb9058c3a382ffc7106e4002c42a8d85"  # ... the official checksum stays
    assert c100["filename"] == "cifar-100-python.tar.gz"


# ---------------------------------------------------------------- synthetic scenes
def test_scenes_are_deterministic_per_image():
    a, ya = data.render_scenes(3, "train", range(8), 24)
    b, yb = data.render_scenes(3, "train", range(8), 24)
    assert a.dtype == torch.uint8 and a.shape == (8, 3, 24, 24)
    assert torch.equal(a, b) and torch.equal(ya, yb)
    # image i is the same whatever batch it is rendered in
    c, yc = data.render_scenes(3, "train", [5, 2], 24)
    assert torch.equal(c, a[[5, 2]]) and torch.equal(yc, ya[[5, 2]])
    other_seed, _ = data.render_scenes(4, "train", range(8), 24)
    other_split, _ = data.render_scenes(3, "test", range(8), 24)
    assert (other_seed != a).float().mean() > 0.5
    assert (other_split != a).float().mean() > 0.5


def test_labels_in_range_and_balanced():
    labels = data.scene_params(11, "train", range(3000))["label"]
    counts = np.bincount(labels, minlength=len(data.SHAPES))
    assert labels.min() >= 0 and labels.max() < len(data.SHAPES)
    assert counts.min() > 0.75 * 300 and counts.max() < 1.25 * 300


def test_object_position_carries_no_label_information():
    p = data.scene_params(5, "train", range(5000))
    overall = p["center"].mean(axis=0)
    for cls in range(len(data.SHAPES)):
        centres = p["center"][p["label"] == cls]
        # uniform centres: the standard error of a class mean is ~0.006 here
        assert np.abs(centres.mean(axis=0) - overall).max() < 0.03, data.SHAPES[cls]
        assert abs(centres.std(axis=0).mean() - p["center"].std(axis=0).mean()) < 0.03
    # not a fixed place: the centres reach as far as the smallest objects allow (their edge
    # then touches the image border), on both sides and in both directions
    r_min = data.synthetic.RADIUS_RANGE[0]
    assert (p["center"].min(axis=0) < r_min + 0.01).all()
    assert (p["center"].max(axis=0) > 1 - r_min - 0.01).all()


def test_objects_lie_inside_the_image_at_their_centre():
    idx = range(40)
    p = data.scene_params(2, "test", idx)
    size, margin = 32, 8
    cover = data.synthetic._object_coverage(p, size, margin)
    inside = cover[:, margin:-margin, margin:-margin]
    # the whole object is visible in the plain image: nothing of it falls in the margin
    assert torch.allclose(inside.sum((1, 2)), cover.sum((1, 2)))
    assert (inside.sum((1, 2)) > 5).all()
    coords = torch.arange(size, dtype=torch.float64) + 0.5
    cx = (inside.sum(1) * coords).sum(1) / inside.sum((1, 2)) / size
    cy = (inside.sum(2) * coords).sum(1) / inside.sum((1, 2)) / size
    centroid = torch.stack([cx, cy], 1).numpy()
    # symmetric shapes have their centroid at the centre; the triangle / star within a radius
    assert np.abs(centroid - p["center"]).max() < p["radius"].max()
    assert np.median(np.abs(centroid - p["center"])) < 0.03


@pytest.mark.parametrize("margin", [1, 5, 40])
def test_margin_render_centre_equals_plain_render(margin):
    plain, labels = data.render_scenes(9, "train", range(12), 32)
    wide, wide_labels = data.render_scenes(9, "train", range(12), 32, margin=margin)
    assert wide.shape == (12, 3, 32 + 2 * margin, 32 + 2 * margin)
    assert torch.equal(wide[..., margin : margin + 32, margin : margin + 32], plain)
    assert torch.equal(labels, wide_labels)
    # the margin is real scene content, not a constant border
    assert wide[..., :margin, :].float().std() > 5


# ---------------------------------------------------------------- manifest, splits
def test_manifest_lists_classes_stats_sizes_and_checksums(synthetic):
    m = json.loads(synthetic.read_text())
    assert m["dataset"] == "synthetic" and m["image_size"] == 32
    assert m["num_classes"] == 10 and m["classes"] == list(data.SHAPES)
    assert m["splits"]["train"]["size"] == 60 and m["splits"]["test"]["size"] == 30
    assert len(m["mean"]) == 3 and len(m["std"]) == 3
    for name, sha in m["files"].items():
        assert hashlib.sha256((synthetic.parent / name).read_bytes()).hexdigest() == sha
    assert set(m["files"]) == {m["splits"][s]["file"] for s in ("train", "test")}


def test_train_split_is_normalised_and_items_match_tensors(synthetic):
    X, y = data.split_tensors(synthetic, "train")
    assert X.dtype == torch.float32 and y.dtype == torch.int64 and X.shape == (60, 3, 32, 32)
    assert torch.allclose(X.mean((0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(X.std((0, 2, 3)), torch.ones(3), atol=1e-2)
    ds = data.load_split(synthetic, "train")
    assert len(ds) == 60 and ds.num_classes == 10 and ds.image_size == 32
    assert len(ds.mean) == 3 and len(ds.std) == 3
    x7, y7 = ds[7]
    assert torch.equal(x7, X[7]) and y7 == int(y[7])
    # the cache holds exactly the rendered scenes
    plain, labels = data.render_scenes(SPEC["seed"], "test", range(30), 32)
    Xt, yt = data.split_tensors(synthetic, "test")
    assert torch.equal(yt, labels)
    assert torch.equal(Xt, data.normalise(plain, ds.mean, ds.std))


def test_corrupt_cache_is_refused_naming_the_file(tmp_path):
    data.prepare_data({**SPEC, "num_train": 10, "num_test": 10}, tmp_path)
    with open(tmp_path / "test.pt", "ab") as fh:
        fh.write(b"junk")
    with pytest.raises(ValueError, match=r"test\.pt.*sha256"):
        data.load_split(tmp_path / "manifest.json", "test")
    with pytest.raises(FileNotFoundError, match="manifest"):
        data.load_split(tmp_path / "nope" / "manifest.json", "train")


def test_context_crops_synthetic_are_exact(synthetic):
    X, _ = data.split_tensors(synthetic, "test")
    idx = [0, 3, 29]
    x, x_plus = data.context_crops(synthetic, "test", idx, margin=16)
    assert x.shape == (3, 3, 32, 32) and x_plus.shape == (3, 3, 64, 64)
    assert torch.equal(x_plus[..., 16:48, 16:48], x)
    assert torch.equal(x, X[idx])  # the crop is the held-out image itself
    with pytest.raises(IndexError, match="outside"):
        data.context_crops(synthetic, "test", [30], margin=4)


# ---------------------------------------------------------------- fake CIFAR
def _pickled(obj) -> bytes:
    return pickle.dumps(obj, protocol=2)


def fake_cifar10_archive(path: Path, n_per_batch: int = 6, n_test: int = 8) -> dict:
    """A cifar-10-python.tar.gz with the real member names and pickle layout, few images."""
    rng = np.random.default_rng(0)
    members, train = {}, []
    for b in range(1, 6):
        batch = {
            "data": rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
            "labels": rng.integers(0, 10, n_per_batch).tolist(),
        }
        train.append(batch)
        members[f"cifar-10-batches-py/data_batch_{b}"] = _pickled(batch)
    test = {
        "data": rng.integers(0, 256, (n_test, 3072), dtype=np.uint8),
        "labels": rng.integers(0, 10, n_test).tolist(),
    }
    members["cifar-10-batches-py/test_batch"] = _pickled(test)
    names = [f"class{i}" for i in range(10)]
    members["cifar-10-batches-py/batches.meta"] = _pickled({"label_names": names})
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return {
        "train": np.concatenate([b["data"] for b in train]).reshape(-1, 3, 32, 32),
        "train_labels": np.concatenate([b["labels"] for b in train]),
        "test": test["data"].reshape(-1, 3, 32, 32),
        "classes": names,
    }


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    downloads = root / "downloads"
    downloads.mkdir()
    truth = fake_cifar10_archive(downloads / "cifar-10-python.tar.gz")
    spec = {
        **SPEC,
        "dataset": "cifar10",
        "download_dir": str(downloads),
        "num_train": None,
        "num_test": None,
    }
    data.prepare_data(spec, root / "data")
    return root / "data" / "manifest.json", truth, spec


def test_cifar_archive_is_read_with_all_images(cifar):
    manifest, truth, _ = cifar
    m = json.loads(manifest.read_text())
    assert m["classes"] == truth["classes"] and m["num_classes"] == 10
    assert m["splits"]["train"]["size"] == 30 and m["splits"]["test"]["size"] == 8
    ds = data.load_split(manifest, "train")
    assert torch.equal(ds.images, torch.from_numpy(truth["train"]))
    assert ds.targets == truth["train_labels"].tolist()
    X, _ = data.split_tensors(manifest, "train")
    assert torch.allclose(X.mean((0, 2, 3)), torch.zeros(3), atol=1e-4)


def test_cifar100_fine_labels(tmp_path):
    rng = np.random.default_rng(1)
    split_data = {
        s: {
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "fine_labels": rng.integers(0, 100, n).tolist(),
            "coarse_labels": rng.integers(0, 20, n).tolist(),
        }
        for s, n in (("train", 9), ("test", 4))
    }
    members = {f"cifar-100-python/{s}": _pickled(d) for s, d in split_data.items()}
    names = [f"fine{i}" for i in range(100)]
    members["cifar-100-python/meta"] = _pickled({"fine_label_names": names})
    with tarfile.open(tmp_path / "cifar-100-python.tar.gz", "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    spec = {
        **SPEC,
        "dataset": "cifar100",
        "download_dir": str(tmp_path),
        "num_train": None,
        "num_test": None,
    }
    m = data.prepare_data(spec, tmp_path / "data")
    assert m["num_classes"] == 100 and m["classes"] == names
    ds = data.load_split(tmp_path / "data" / "manifest.json", "test")
    assert ds.targets == split_data["test"]["fine_labels"]


def test_cifar_subset_and_resize(cifar, tmp_path):
    _, truth, spec = cifar
    data.prepare_data({**spec, "num_train": 12, "num_test": 5, "image_size": 16}, tmp_path)
    ds = data.load_split(tmp_path / "manifest.json", "train")
    assert len(ds) == 12 and ds[0][0].shape == (3, 16, 16)
    with pytest.raises(ValueError, match="data.num_test"):
        data.prepare_data({**spec, "num_test": 9}, tmp_path / "too_many")


def test_cifar_context_crops_are_a_mosaic_of_the_split(cifar):
    manifest, truth, _ = cifar
    X, _ = data.split_tensors(manifest, "test")
    idx = [1, 4]
    x, x_plus = data.context_crops(manifest, "test", idx, margin=32)
    assert x_plus.shape == (2, 3, 96, 96)
    assert torch.equal(x_plus[..., 32:64, 32:64], x) and torch.equal(x, X[idx])
    # each margin tile is a whole other image of the same split, never the centre image
    for n, i in enumerate(idx):
        for r, c in [(0, 0), (0, 1), (1, 2), (2, 2)]:
            tile = x_plus[n, :, r * 32 : (r + 1) * 32, c * 32 : (c + 1) * 32]
            matches = [j for j in range(len(X)) if torch.equal(tile, X[j])]
            assert matches and i not in matches
    again, again_plus = data.context_crops(manifest, "test", idx, margin=32)
    assert torch.equal(again_plus, x_plus)  # deterministic
    _, small = data.context_crops(manifest, "test", idx, margin=5)
    assert torch.equal(small, x_plus[..., 27:69, 27:69])  # the same mosaic, cropped


# ---------------------------------------------------------------- ImageFolder
def _png(path: Path, w: int, h: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)


@pytest.fixture(scope="module")
def imagefolder(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder")
    k = 0
    for split, n in (("train", 4), ("val", 2)):
        for cls in ("cat", "dog", "eel"):
            for i in range(n):
                k += 1
                big = i % 2 == 0  # alternate large (real context) and small (mosaic) sources
                _png(root / split / cls / f"{i}.png", 60 if big else 20, 44 if big else 18, k)
    spec = {
        **SPEC,
        "dataset": "imagefolder",
        "path": str(root),
        "image_size": 16,
        "num_train": None,
        "num_test": None,
    }
    data.prepare_data(spec, root.parent / f"{root.name}_data")
    return root, root.parent / f"{root.name}_data" / "manifest.json"


def test_imagefolder_index_and_items(imagefolder):
    root, manifest = imagefolder
    m = json.loads(manifest.read_text())
    assert m["classes"] == ["cat", "dog", "eel"] and m["storage"] == "index"
    assert m["splits"]["train"]["size"] == 12 and m["splits"]["test"]["size"] == 6
    ds = data.load_split(manifest, "test")
    x, y = ds[3]
    assert x.shape == (3, 16, 16) and x.dtype == torch.float32 and y == 1
    X, Y = data.split_tensors(manifest, "train")
    assert X.shape == (12, 3, 16, 16) and Y.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    # mean/std come from the (whole, here) train split
    assert torch.allclose(X.mean((0, 2, 3)), torch.zeros(3), atol=1e-4)


def test_imagefolder_too_large_for_memory_asks_for_load_split(imagefolder, monkeypatch):
    _, manifest = imagefolder
    monkeypatch.setattr(data.splits, "IN_MEMORY_LIMIT_BYTES", 12 * 3 * 16 * 16 * 4 - 1)
    # a NotImplementedError: training falls back to load_split + DataLoader
    with pytest.raises(NotImplementedError, match="load_split"):
        data.split_tensors(manifest, "train")
    assert data.split_tensors(manifest, "test")[0].shape == (6, 3, 16, 16)


def test_imagefolder_context_from_source_or_mosaic(imagefolder):
    root, manifest = imagefolder
    ds = data.load_split(manifest, "train")
    margin = 8
    x, x_plus = data.context_crops(manifest, "train", [0, 1], margin)
    assert torch.equal(x_plus[..., 8:24, 8:24], x)
    # image 0 (60 x 44) is large enough: the context is its own pixels, resized (bilinear,
    # antialiased) to 44 x 32, the central 32 x 32 kept
    from torchvision.transforms.v2.functional import resize

    src = resize(data.read_rgb(root / "train" / "cat" / "0.png"), [32, 44], antialias=True)
    assert torch.equal(x_plus[0], data.normalise(src[:, :, 6:38], ds.mean, ds.std))
    # within a rounding step of PIL's bilinear resize of the same file
    pil = Image.open(root / "train" / "cat" / "0.png").convert("RGB").resize((44, 32), Image.BILINEAR)
    pil = torch.from_numpy(np.asarray(pil).copy()).permute(2, 0, 1)
    assert (pil.int() - src.int()).abs().max() <= 2
    # image 1 (20 x 18) is too small: it sits, as trained, inside a mosaic of other images
    assert torch.equal(x[1], ds[1][0])
    with pytest.raises(FileNotFoundError, match="train/"):
        data.index_imagefolder(root / "train")


def test_read_rgb_decodes_like_pil_and_reads_what_torchvision_cannot(tmp_path):
    """JPEG / PNG / WebP through torchvision.io, the same pixels as PIL's decoder; BMP
    (and a BMP named .jpg) through PIL; grey, palette, alpha and CMYK become RGB; a
    16-bit PNG is scaled to 8 bits."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    images = {
        "a.jpg": Image.fromarray(rgb), "a.png": Image.fromarray(rgb), "a.webp": Image.fromarray(rgb),
        "a.bmp": Image.fromarray(rgb), "grey.png": Image.fromarray(rgb[..., 0]),
        "palette.png": Image.fromarray(rgb).convert("P"), "rgba.png": Image.fromarray(np.dstack([rgb, rgb[..., :1]])),
        "cmyk.jpg": Image.fromarray(rgb).convert("CMYK"),
    }  # fmt: skip
    for name, image in images.items():
        image.save(tmp_path / name)
    Image.fromarray(rgb).save(tmp_path / "bmp.jpg", format="BMP")
    for name in [*images, "bmp.jpg"]:
        with Image.open(tmp_path / name) as img:
            pil = torch.from_numpy(np.asarray(img.convert("RGB")).copy()).permute(2, 0, 1)
        x = data.read_rgb(tmp_path / name)
        assert x.dtype == torch.uint8 and x.shape == (3, 12, 20) and torch.equal(x, pil), name
    deep = (rgb[..., 0].astype(np.uint16) * 257)  # 8-bit values stretched to 16 bits
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert torch.equal(data.read_rgb(tmp_path / "deep.png"), torch.from_numpy(rgb[..., 0]).expand(3, -1, -1))
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(OSError, match="broken.jpg"):
        data.read_rgb(tmp_path / "broken.jpg")


def test_read_rgb_falls_back_to_pil_without_torchvision_decoders(tmp_path, monkeypatch):
    rgb = np.random.default_rng(1).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    monkeypatch.setitem(sys.modules, "torchvision.io", None)  # its import now fails
    assert torch.equal(data.read_rgb(tmp_path / "a.png"), torch.from_numpy(rgb).permute(2, 0, 1))


def test_resize_crop_resizes_the_shorter_side_and_keeps_the_centre():
    x = torch.arange(3 * 40 * 60, dtype=torch.int64).remainder(251).to(torch.uint8).view(3, 40, 60)
    out = data.resize_crop(x, 20)
    assert out.shape == (3, 20, 20) and out.dtype == torch.uint8
    assert torch.equal(data.resize_crop(x, 40), x[:, :, 10:50])  # no resize: the central square
    assert torch.equal(out, data.resize_crop(x, 20))  # deterministic


# ---------------------------------------------------------------- downloads (local server)
class _Handler(http.server.BaseHTTPRequestHandler):
    payload = b""

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path.startswith("/missing"):
            self.send_error(404)
            return
        body = self.payload
        announced = len(body)
        if self.path.startswith("/truncated"):
            body = body[: len(body) // 2]  # announce the whole file, send half, close
        elif self.path.startswith("/half"):
            body = body[: len(body) // 2]
            announced = len(body)
        self.send_response(200)
        self.send_header("Content-Length", str(announced))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    archive = tmp_path_factory.mktemp("served") / "cifar-10-python.tar.gz"
    fake_cifar10_archive(archive)
    _Handler.payload = archive.read_bytes()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", archive
    httpd.shutdown()
    httpd.server_close()


def _md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def test_download_ok_then_prepare_reads_it(server, tmp_path):
    url, archive = server
    out = tmp_path / "dl" / "cifar-10-python.tar.gz"
    rc = cli_main(
        [
            "download",
            "--url",
            f"{url}/cifar-10-python.tar.gz",
            "--md5",
            _md5(archive.read_bytes()),
            "--output",
            str(out),
        ]
    )
    assert rc == 0 and out.read_bytes() == archive.read_bytes()
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temporary left
    spec = {
        **SPEC,
        "dataset": "cifar10",
        "download_dir": str(out.parent),
        "num_train": 10,
        "num_test": 4,
    }
    cli_main(["prepare-data", "--spec", json.dumps(spec), "--out-dir", str(tmp_path / "data")])
    ds = data.load_split(tmp_path / "data" / "manifest.json", "train")
    assert len(ds) == 10 and ds.num_classes == 10


def test_download_file_url(server, tmp_path):
    _, archive = server
    out = tmp_path / "copy.tar.gz"
    data.download(archive.as_uri(), _md5(archive.read_bytes()), out, progress=False)
    assert out.read_bytes() == archive.read_bytes()


def test_download_wrong_md5_names_file_and_checksums(server, tmp_path):
    url, archive = server
    out = tmp_path / "cifar-10-python.tar.gz"
    wrong = "0" * 32
    with pytest.raises(data.DownloadError) as err:
        data.download(f"{url}/cifar-10-python.tar.gz", wrong, out, progress=False)
    message = str(err.value)
    assert str(out) in message and wrong in message and _md5(archive.read_bytes()) in message
    assert list(tmp_path.iterdir()) == []  # nothing at the output, no temporary


def test_download_truncated_response_is_an_error(server, tmp_path):
    url, archive = server
    out = tmp_path / "cifar-10-python.tar.gz"
    with pytest.raises(
        data.DownloadError,
        match=r"truncated.*cifar-10-python\.tar\.gz|cifar-10-python\.tar\.gz.*truncated",
    ):
        data.download(f"{url}/truncated", _md5(archive.read_bytes()), out, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_download_of_an_archive_that_does_not_open_is_an_error(server, tmp_path):
    url, archive = server
    half = archive.read_bytes()[: len(archive.read_bytes()) // 2]
    out = tmp_path / "cifar-10-python.tar.gz"
    # the checksum matches what is sent, but the tar.gz is cut in half
    with pytest.raises(data.DownloadError, match="does not open as a tar"):
        data.download(f"{url}/half", _md5(half), out, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_download_http_error_or_missing_file_leaves_nothing(server, tmp_path):
    url, _ = server
    out = tmp_path / "x.tar.gz"
    with pytest.raises(data.DownloadError, match=r"x\.tar\.gz.*404"):
        data.download(f"{url}/missing", "0" * 32, out, progress=False)
    with pytest.raises(data.DownloadError, match=r"x\.tar\.gz"):
        data.download((tmp_path / "absent.tar.gz").as_uri(), "0" * 32, out, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_pixel_conversions_are_one_family_and_invert_each_other():
    from padpos.data import normalise, normalise_pixels, to_pixels, uint8_to_pixels

    mean, std = [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]
    u8 = torch.randint(0, 256, (2, 3, 5, 5), dtype=torch.uint8)
    x = normalise(u8, mean, std)
    assert x.dtype == torch.float32
    assert torch.equal(x, normalise_pixels(uint8_to_pixels(u8), mean, std))
    # one image (3 x H x W) and a batch broadcast the same way
    assert torch.equal(normalise(u8[0], mean, std), x[0])
    torch.testing.assert_close(to_pixels(x, mean, std), u8.float() / 255, rtol=0, atol=1e-6)
    expected = (u8[0, 1].double() / 255 - 0.5) / 0.25
    torch.testing.assert_close(x[0, 1].double(), expected, rtol=0, atol=1e-6)
