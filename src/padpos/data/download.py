"""Downloads: the CIFAR archives and any checksummed file, never left half-written."""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

from padpos.io import atomic_path


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
