"""Image subsets are never "the first N" (docs/protocols.md section 7).

An ImageFolder split is sorted by class: here class ``a`` is black and class ``b``
white, so the first N images of a split are all black. PPP, PosENet, the F-Conv
location test and the canvas test must each draw a seeded random subset that holds
both, and the same subset on every call (every network compared sees it)."""

import numpy as np
import pytest
import torch

N_PER_CLASS = 8


@pytest.fixture(scope="module")
def sorted_imagefolder(tmp_path_factory):
    from PIL import Image

    from padpos.data import prepare_data

    root = tmp_path_factory.mktemp("imagefolder")
    for split in ("train", "val"):
        for name, value in (("a", 0), ("b", 255)):
            folder = root / "tree" / split / name
            folder.mkdir(parents=True)
            for i in range(N_PER_CLASS):
                Image.new("RGB", (12, 12), (value, value, value)).save(folder / f"{i:02d}.png")
    spec = {"dataset": "imagefolder", "path": str(root / "tree"), "image_size": 8,
            "num_train": None, "num_test": None, "seed": 3}  # fmt: skip
    prepare_data(spec, root / "data")
    return root / "data" / "manifest.json"


def _both_classes(pixels: torch.Tensor) -> bool:
    brightness = pixels.reshape(len(pixels), -1).mean(1)
    return bool((brightness < 0.1).any() and (brightness > 0.9).any())


def test_the_fixture_is_sorted_by_class(sorted_imagefolder):
    from padpos.data import load_split

    assert load_split(sorted_imagefolder, "test").targets[:N_PER_CLASS] == [0] * N_PER_CLASS


def test_random_subset_is_seeded_sorted_and_not_the_first_items():
    from padpos.data import random_subset

    a = random_subset(100, 10, seed=1, stream=2)
    assert list(a) == sorted(a) and len(set(a.tolist())) == 10 and list(a) != list(range(10))
    assert np.array_equal(a, random_subset(100, 10, seed=1, stream=2))
    assert not np.array_equal(a, random_subset(100, 10, seed=1, stream=3))
    assert list(random_subset(5, None, 0)) == list(range(5)) == list(random_subset(5, 9, 0))


def test_ppp_images_are_a_random_subset_with_both_classes(sorted_imagefolder):
    from padpos.data import load_split
    from padpos.probes import pattern as ppp

    for split, seed_split in (("test", "test"), ("train", "train")):
        chosen = ppp.image_subset(sorted_imagefolder, split, 6)
        labels = {load_split(sorted_imagefolder, seed_split).targets[i] for i in chosen}
        assert labels == {0, 1} and chosen == ppp.image_subset(sorted_imagefolder, split, 6)
    # the BatchNorm images of an epoch-0 snapshot come from the same kind of subset
    images = ppp._subset_images(sorted_imagefolder, "train", 6)
    assert images.shape == (6, 3, 8, 8) and images.reshape(6, -1).mean(1).unique().numel() == 2


def test_location_test_sources_are_a_random_subset_with_both_classes(sorted_imagefolder):
    from padpos.stages.fconv_location import location as loc

    x = loc.source_images(sorted_imagefolder, "train", 6, size=8)
    assert _both_classes(x)
    assert torch.equal(x, loc.source_images(sorted_imagefolder, "train", 6, size=8))


def test_posenet_images_are_a_random_subset_with_both_classes(sorted_imagefolder):
    from padpos.probes import readout as pn

    images, mean, std = pn._split_images(sorted_imagefolder, "test", 6)
    assert _both_classes(pn.to_pixels(images, mean, std))


def test_canvas_sources_are_a_random_subset_with_both_classes(sorted_imagefolder):
    from padpos.stages.canvas import boundary as cv

    idx = cv.subset(sorted_imagefolder, "train", 6, "train")
    assert _both_classes(cv.source_pixels(sorted_imagefolder, "train", idx, 8))
