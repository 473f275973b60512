"""Data sets of a study: generated (synthetic), downloaded (CIFAR-10/100) or indexed (ImageFolder).

``prepare-data`` turns a study's ``data:`` config into a directory with cache
files and, written last, ``manifest.json`` (data set, classes, per-channel mean
and std of the train split, split sizes, cache file names and their sha256).
Everything downstream reads the data through the manifest:

- :func:`load_split` - a map-style data set of (normalised float 3 x H x W, label);
- :func:`split_tensors` - the whole split as tensors, for data kept in memory;
- :func:`context_crops` - the same crops with a margin of real context around
  them (``x_plus[..., m:m+H, m:m+W] == x``), the reference of the PPP metric.

One module per concern:

=============  ==============================================================
``download``   checksummed downloads (CIFAR archives), :func:`download_spec`
``synthetic``  the procedurally rendered scenes (:func:`render_scenes`)
``sources``    reading CIFAR archives and indexing ImageFolder trees
``prepare``    :func:`prepare_data`: cache files + manifest
``splits``     split names, :func:`read_manifest`, :func:`load_split`, :func:`split_tensors`
``context``    :func:`context_crops` (the PPP reference)
``augment``    ImageFolder training items: seeded random-resized crops + flips
``pixels``     every conversion between image files, pixels and model inputs
=============  ==============================================================

``torch`` is imported inside functions: the Snakefile imports this package (for
:func:`download_spec`) when it parses, and should not pay for a torch import.
The data set classes are map-style (``__len__`` / ``__getitem__``), which is
all ``torch.utils.data.DataLoader`` and ``Subset`` need. The public names of the
modules are re-exported here: ``from padpos.data import load_split``.
"""

from __future__ import annotations

from padpos.data.context import context_crops, mosaic_neighbours
from padpos.data.download import (
    CHUNK_BYTES,
    CIFAR,
    DownloadError,
    download,
    download_spec,
    file_digest,
)
from padpos.data.pixels import (
    normalise,
    normalise_pixels,
    read_rgb,
    resize_crop,
    to_pixels,
    uint8_to_pixels,
)
from padpos.data.prepare import prepare_data
from padpos.data.sources import (
    IMAGE_EXTENSIONS,
    IMAGEFOLDER_TEST_DIRS,
    MEAN_STD_SAMPLE,
    index_imagefolder,
    read_cifar,
)
from padpos.data.splits import (
    IN_MEMORY_LIMIT_BYTES,
    MANIFEST_FORMAT,
    SPLIT_IDS,
    SPLITS,
    ImageFolderSplit,
    TensorSplit,
    TooLargeForMemory,
    load_split,
    random_subset,
    read_manifest,
    split_tensors,
)
from padpos.data.synthetic import SHAPES, render_scene_params, render_scenes, scene_params

__all__ = [
    "CHUNK_BYTES",
    "CIFAR",
    "DownloadError",
    "IMAGE_EXTENSIONS",
    "IMAGEFOLDER_TEST_DIRS",
    "IN_MEMORY_LIMIT_BYTES",
    "ImageFolderSplit",
    "MANIFEST_FORMAT",
    "MEAN_STD_SAMPLE",
    "SHAPES",
    "SPLITS",
    "SPLIT_IDS",
    "TensorSplit",
    "TooLargeForMemory",
    "context_crops",
    "download",
    "download_spec",
    "file_digest",
    "index_imagefolder",
    "load_split",
    "mosaic_neighbours",
    "normalise",
    "normalise_pixels",
    "prepare_data",
    "random_subset",
    "read_cifar",
    "read_rgb",
    "read_manifest",
    "render_scene_params",
    "render_scenes",
    "resize_crop",
    "scene_params",
    "split_tensors",
    "to_pixels",
    "uint8_to_pixels",
]
