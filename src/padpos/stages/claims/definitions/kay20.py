"""The claims of [KAY20] Kayhan & van Gemert, CVPR 2020 (F-Conv tests: Red-Green and the
location test)."""

from __future__ import annotations

import dataclasses
import math

from padpos.stages.claims.scorecard import (
    Claim,
    NotMeasured,
    Published,
    Rule,
    Tables,
    difference,
    mean_of,
)

KAY20_README = "KAY20 Red-Green table (official repository oskyhn/CNNs-Without-Borders, README)"
KAY20_FIGURE = ("KAY20 location test, ResNet-18 (official repository oskyhn/CNNs-Without-Borders, "
                "images/4QI_results.png, read off the figure)")  # fmt: skip
# tolerance floors of the agreement with a published number (docs/protocols.md 8):
# [KAY20]'s Red-Green SDs can be 0.0 (V-Conv); 1 point is about one binomial SD of an
# accuracy near 90 % on the paper's 1000 test images (sqrt(.9 * .1 / 1000) = 0.95 points)
KAY20_TABLE_FLOOR = 1.0
# a value read off [KAY20]'s location figure: +-2 points (its markers and grid)
KAY20_FIGURE_PRECISION = 2.0


# ---------------------------------------------------------------- [KAY20] F-Conv tests
def _redgreen(t: Tables, variant: str, test_set: str):
    """A Red-Green row; its accuracy is a proportion of the study's test images (the
    similar and dissimilar sets have ``fconv.redgreen.sizes.test`` each)."""
    g = t.group("fconv_redgreen", prefix="accuracy", padding=variant, test_set=test_set)
    n_test = int(t.settings.get("redgreen_test_images") or 0)
    return dataclasses.replace(g, n_test=n_test) if n_test and not g.n_test else g


def _gap(variant: str):
    return lambda t: difference(_redgreen(t, variant, "similar"), _redgreen(t, variant, "dissimilar"))


def _redgreen_published(similar: float, sd_similar: float, dissimilar: float, sd_dissimilar: float) -> Published:
    """The published gap, similar minus dissimilar, with the SD of a difference of the two."""
    return Published(round(similar - dissimilar, 1), KAY20_README, sd=round(math.hypot(sd_similar, sd_dissimilar), 2),
                     floor=KAY20_TABLE_FLOOR)  # fmt: skip


# the location test's border B where [KAY20]'s ResNet-18 curve says something: random-frozen
# ~80 % at B = 64, ~52 % at 128 (50 % from 256); trained from scratch 100 % up to 256
FROZEN_NEAR_BORDER, FROZEN_FAR_BORDER, SCRATCH_MAX_BORDER = 64, 128, 256
LOCATION_PUBLISHED = {("random-frozen", 0): 100.0, ("random-frozen", 16): 100.0, ("random-frozen", 32): 100.0,
                      ("random-frozen", 64): 80.5, ("random-frozen", 128): 51.5, ("random-frozen", 256): 50.0,
                      ("random-frozen", 512): 50.0, **{("scratch", b): 100.0 for b in (0, 16, 32, 64, 128, 256)},
                      ("scratch", 512): 50.0}  # fmt: skip


def _location(t: Tables, init: str, border: int):
    borders = sorted(int(b) for b in t.values("fconv_location", "border", padding="zeros", init=init))
    if border not in borders:
        raise NotMeasured(f"fconv_location has no zeros / {init} row at border {border} "
                          f"(swept: {borders}; fconv.location.borders)")  # fmt: skip
    return mean_of(t.group("fconv_location", prefix="accuracy", padding="zeros", init=init, border=border))


def _scratch_border(t: Tables) -> int:
    """The largest border up to 256 px the study sweeps for scratch-trained nets."""
    borders = [int(b) for b in t.values("fconv_location", "border", padding="zeros", init="scratch")]
    usable = [b for b in borders if b <= SCRATCH_MAX_BORDER]
    if not usable:
        raise NotMeasured("fconv_location has no zeros / scratch row at a border <= 256 px")
    return max(usable)


LOCATION_COMPARABILITY = ("study: the location test's ResNet-18 at fconv.location.width on the study's "
                          "images; paper: width 64 on ImageNet crops (the geometry, 56 px on 120 px, is the same)")  # fmt: skip

INVARIANT = ("the dissimilar set moves every box by 16 rows, a multiple of the net's total stride (8), "
             "inside a black image: {why}, so both test sets score the same whatever the weights")  # fmt: skip

KAY20 = [
    Claim(
        "KAY20-a.valid", "KAY20",
        "V-Conv (no padding) exploits absolute location: it fails when the classes swap places",
        ("fconv_redgreen",),
        "accuracy (points), similar minus dissimilar test set, V-Conv",
        Rule("greater", 20.0, "points"),
        _gap("valid"),
        paper_value=f"100.0 +- 0.0 - 0.2 +- 0.1 = 99.8 ({KAY20_README})",
        published=_redgreen_published(100.0, 0.0, 0.2, 0.1),
    ),
    Claim(
        "KAY20-a.zeros", "KAY20",
        "S-Conv with zero padding exploits absolute location",
        ("fconv_redgreen",),
        "accuracy (points), similar minus dissimilar test set, S-Conv zeros",
        Rule("greater", 20.0, "points"),
        _gap("zeros"),
        paper_value=f"99.8 +- 0.1 - 8.4 +- 0.7 = 91.4 ({KAY20_README})",
        published=_redgreen_published(99.8, 0.1, 8.4, 0.7),
    ),
    Claim(
        "KAY20-b.circular.equal", "KAY20",
        "S-Conv with circular padding cannot exploit absolute location",
        ("fconv_redgreen",),
        "accuracy (points), similar minus dissimilar, S-Conv circular",
        Rule("within", 2.0, "points"),
        _gap("circular"),
        paper_value=f"73.7 - 73.7 = 0 ({KAY20_README})",
        published=Published(0.0, KAY20_README, sd=0.0, floor=KAY20_TABLE_FLOOR),
        by_construction=INVARIANT.format(why="circular padding makes every conv shift-equivariant "
                                         "on the torus and global max pooling shift-invariant"),  # fmt: skip
    ),
    Claim(
        "KAY20-b.full.equal", "KAY20",
        "F-Conv (full padding) cannot exploit absolute location",
        ("fconv_redgreen",),
        "accuracy (points), similar minus dissimilar, F-Conv",
        Rule("within", 2.0, "points"),
        _gap("full"),
        paper_value=f"89.7 - 89.7 = 0 ({KAY20_README})",
        published=Published(0.0, KAY20_README, sd=0.0, floor=KAY20_TABLE_FLOOR),
        by_construction=INVARIANT.format(why="full convolution of a black image computes what an "
                                         "infinite black plane would"),  # fmt: skip
    ),
    Claim(
        "KAY20-b.circular.learns", "KAY20",
        "... and still learns the task: S-Conv circular classifies the similar set well above chance",
        ("fconv_redgreen",),
        "accuracy (%) on the similar test set, S-Conv circular (chance 50)",
        Rule("greater", 60.0, "%"),
        lambda t: mean_of(_redgreen(t, "circular", "similar")),
        paper_value=f"73.7 +- 1.0 ({KAY20_README})",
        published=Published(73.7, KAY20_README, sd=1.0, floor=KAY20_TABLE_FLOOR),
    ),
    Claim(
        "KAY20-b.full.learns", "KAY20",
        "F-Conv classifies the similar set well above chance",
        ("fconv_redgreen",),
        "accuracy (%) on the similar test set, F-Conv (chance 50)",
        Rule("greater", 60.0, "%"),
        lambda t: mean_of(_redgreen(t, "full", "similar")),
        paper_value=f"89.7 +- 0.5 ({KAY20_README})",
        published=Published(89.7, KAY20_README, sd=0.5, floor=KAY20_TABLE_FLOOR),
    ),
    Claim(
        "KAY20-b.full_vs_circular", "KAY20",
        "Circular padding 'invents disturbing new content' where F-Conv does well: F-Conv classifies "
        "the similar set better than S-Conv circular",
        ("fconv_redgreen",),
        "accuracy (points) on the similar test set, F-Conv minus S-Conv circular (paired over seeds)",
        Rule("greater", 0.0, "points"),
        lambda t: difference(_redgreen(t, "full", "similar"), _redgreen(t, "circular", "similar")),
        paper_value=f"89.7 +- 0.5 - 73.7 +- 1.0 = 16.0 ({KAY20_README})",
        published=Published(16.0, KAY20_README, sd=round(math.hypot(0.5, 1.0), 2), floor=KAY20_TABLE_FLOOR),
    ),
    Claim(
        "KAY20-c.frozen.near", "KAY20",
        "Random frozen zero-padded features still read absolute location 64 px from the border",
        ("fconv_location",),
        f"location-test accuracy (%) at extra border B = {FROZEN_NEAR_BORDER}, zeros, random-frozen (chance 50)",
        Rule("greater", 60.0, "%"),
        lambda t: _location(t, "random-frozen", FROZEN_NEAR_BORDER),
        paper_value=f"~80 % at B = 64 ({KAY20_FIGURE})" + "; " + LOCATION_COMPARABILITY,
        published=Published(LOCATION_PUBLISHED[("random-frozen", FROZEN_NEAR_BORDER)], KAY20_FIGURE,
                            floor=KAY20_FIGURE_PRECISION),  # fmt: skip
    ),
    Claim(
        "KAY20-c.frozen.far", "KAY20",
        "... and no longer tell the two corners apart 128 px from the border",
        ("fconv_location",),
        f"location-test accuracy (%) at extra border B = {FROZEN_FAR_BORDER}, zeros, random-frozen (chance 50)",
        Rule("less", 60.0, "%"),
        lambda t: _location(t, "random-frozen", FROZEN_FAR_BORDER),
        paper_value=f"~52 % at B = 128, 50 % from 256 ({KAY20_FIGURE})" + "; " + LOCATION_COMPARABILITY,
        published=Published(LOCATION_PUBLISHED[("random-frozen", FROZEN_FAR_BORDER)], KAY20_FIGURE,
                            floor=KAY20_FIGURE_PRECISION),  # fmt: skip
    ),
    Claim(
        "KAY20-c.trained", "KAY20",
        "A zero-padded net trained for the task reads absolute location far from the border "
        "(up to 256 px)",
        ("fconv_location",),
        "location-test accuracy (%) at the largest extra border <= 256 px the study sweeps, zeros, "
        "trained from scratch (chance 50)",
        Rule("greater", 60.0, "%"),
        lambda t: _location(t, "scratch", _scratch_border(t)),
        paper_value=f"100 % up to B = 256, 50 % at 512 ({KAY20_FIGURE})" + "; " + LOCATION_COMPARABILITY,
        published=Published(100.0, KAY20_FIGURE, floor=KAY20_FIGURE_PRECISION),
    ),
]
