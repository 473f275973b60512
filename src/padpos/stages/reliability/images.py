"""The images every metric of one reliability comparison reads (docs/protocols.md section
6): held-out crops, each exactly the centre of the same scene with real context, and the
training crops of the readouts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from padpos.data.pixels import normalise_pixels
from padpos.names import RELIABILITY_IMAGE_SETS

@dataclass
class ImageSet:
    """The images every metric of one comparison uses (normalised as the networks expect).

    train: N x 3 x S x S, for BatchNorm estimation (untrained nets), the PosENet
        readout and the location test's head;
    test: M x 3 x S x S, held out: PosENet scores, location test canvases, PPP crops;
    test_plus: M x 3 x (S + 2 margin)^2, the same scenes with ``margin`` px of real
        context (``test`` is exactly its centre).
    """

    name: str
    train: torch.Tensor
    test: torch.Tensor
    test_plus: torch.Tensor
    margin: int

    def __post_init__(self):
        m, s = self.margin, self.test.shape[-1]
        if self.test_plus.shape[-1] != s + 2 * m:
            raise ValueError(f"image set {self.name!r}: context {self.test_plus.shape[-1]} px "
                             f"is not {s} + 2 x {m}")
        if not torch.equal(self.test_plus[..., m : m + s, m : m + s], self.test):
            raise ValueError(f"image set {self.name!r}: the crops are not the centres of their context")

    @property
    def size(self) -> int:
        return int(self.test.shape[-1])

    def context(self, margin: int) -> torch.Tensor:
        """The test crops with ``margin`` (<= self.margin) px of context."""
        from padpos.data.photos import image_sets_margin_check

        image_sets_margin_check(self.margin, margin, f"image set {self.name!r}")
        cut = self.margin - margin
        return self.test_plus[..., cut : self.test_plus.shape[-1] - cut, cut : self.test_plus.shape[-1] - cut]


def make_image_set(kind: str, num_train: int, num_test: int, size: int, margin: int,
                   mean: Sequence[float], std: Sequence[float], seed: int = 0,
                   photos: Sequence[str] | None = None) -> ImageSet:
    """``photos`` (crops of scikit-image's photographs) or ``biased`` (synthetic bright
    top, textured bottom), normalised with ``mean`` / ``std``. ``seed`` picks the
    crops: keep it fixed, so that every network compared sees the same images."""
    from padpos.data import photos as ph

    if kind == "photos":
        names = ph.PHOTOS if photos is None else tuple(photos)
        draw = lambda n, split: ph.photo_crops(n, size, margin, seed, split, names)  # noqa: E731
    elif kind == "biased":
        draw = lambda n, split: ph.biased_scenes(n, size, margin, seed, split)  # noqa: E731
    else:
        raise ValueError(f"unknown image set {kind!r}; allowed: {', '.join(RELIABILITY_IMAGE_SETS)}")
    train, _ = draw(num_train, "train")
    test, test_plus = draw(num_test, "test")
    return ImageSet(kind, normalise_pixels(train, mean, std), normalise_pixels(test, mean, std),
                    normalise_pixels(test_plus, mean, std), margin)



def study_image_sets(spec: dict, manifest: str, kinds: Sequence[str] | None = None) -> dict[str, ImageSet]:
    """The image sets of ``spec['image_sets']`` (or ``kinds``) at the study's image size,
    normalised with the study's mean / std (as its backbones see images)."""
    from padpos.data import read_manifest

    m = read_manifest(manifest)
    return {
        kind: make_image_set(kind, int(spec["num_train"]), int(spec["num_test"]), int(m["image_size"]),
                             int(spec["context_px"]), m["mean"], m["std"], int(spec["image_seed"]),
                             spec.get("photos"))
        for kind in (spec["image_sets"] if kinds is None else kinds)
    }  # fmt: skip


