"""The claims of the four papers, each a statistic of the study's tables and a rule
fixed before the data are seen (docs/protocols.md section 8 explains every row).

Papers: [ISL20] Islam, Jia, Bruce, ICLR 2020 (PosENet); [ISL21] Islam et al. 2021
(padding, boundary effects, the canvas task); [KAY20] Kayhan & van Gemert, CVPR 2020
(F-Conv tests); [LIN23] Lin et al., ICML 2023 (PPP). Published values are quoted with
their source; where a paper publishes none that this protocol measures, the field is empty.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np

from padpos.names import SAME_SIZE_SCHEMES
from padpos.stages.claims.scorecard import (
    Claim,
    Estimate,
    Group,
    NotMeasured,
    Published,
    Rule,
    Saturation,
    Tables,
    bootstrap,
    difference,
    mean_of,
    per_seed,
    ratio,
    shared_seeds,
)

KAY20_README = "KAY20 Red-Green table (official repository oskyhn/CNNs-Without-Borders, README)"
KAY20_FIGURE = ("KAY20 location test, ResNet-18 (official repository oskyhn/CNNs-Without-Borders, "
                "images/4QI_results.png, read off the figure)")  # fmt: skip
ISL20_TABLE1 = "ISL20 Table 1, PASCAL-S, target H"
# tolerance floors of the agreement with a published number (docs/protocols.md 8):
# [KAY20]'s Red-Green SDs can be 0.0 (V-Conv); 1 point is about one binomial SD of an
# accuracy near 90 % on the paper's 1000 test images (sqrt(.9 * .1 / 1000) = 0.95 points)
KAY20_TABLE_FLOOR = 1.0
# a value read off [KAY20]'s location figure: +-2 points (its markers and grid)
KAY20_FIGURE_PRECISION = 2.0
# [ISL20] Table 1 prints SPC to 3 decimals
ISL20_TABLE_PRECISION = 0.001
ISL20_NOT_COMPARABLE = ("[ISL20] Table 1 is ImageNet-pretrained VGG-16 read on PASCAL-S; this study "
                        "trains {arch} from scratch on its own images ({dataset})")  # fmt: skip


def _not_comparable_isl20(t: Tables) -> str:
    return ISL20_NOT_COMPARABLE.format(arch=t.arch or "its backbone", dataset=t.settings.get("dataset", "?"))

# PosENet claims read the horizontal-gradient target on natural images, as [ISL20]'s tables
SPC = {"target": "H", "metric": "spc"}


# ---------------------------------------------------------------- [ISL20] PosENet
def _posenet(t: Tables, padding: str, input_: str = "natural"):
    return t.group("posenet", padding=padding, input=input_, **SPC)


def _alone(t: Tables, readout_padding: int):
    return t.group("posenet_alone", readout_padding=readout_padding, input="natural", **SPC)


ISL20 = [
    Claim(
        "ISL20-a", "ISL20",
        "A zero-padded CNN's frozen features decode absolute position from natural images far "
        "better than the same readout on raw pixels without padding",
        ("posenet", "posenet_alone"),
        "SPC(H), zero-padded backbone minus PosENet alone (readout padding 0), natural images",
        Rule("greater", 0.2),
        lambda t: difference(_posenet(t, "zeros"), _alone(t, 0)),
        paper_value=f"VGG-16 .742 - PosENet alone .012 = .730 ({ISL20_TABLE1})",
        published=Published(0.730, ISL20_TABLE1, floor=ISL20_TABLE_PRECISION, comparable=_not_comparable_isl20),
    ),
    Claim(
        "ISL20-a.padding_free", "ISL20",
        "... and the share of that position information that padding adds: the zero-padded "
        "backbone against the padding-free backbone on the same images (content and the image "
        "boundary alone)",
        ("posenet",),
        "SPC(H), zero-padded backbone minus the padding-free backbone (valid convs; the study's "
        "padding_free_arch, another architecture where it differs: see the note), natural images",
        Rule("greater", 0.2),
        lambda t: _with_arch_note(t, difference(_posenet(t, "zeros"), _posenet(t, "valid"))),
        paper_value="VGG-16 .742 - VGG-16 without padding .381 = .361 ([ISL20] padding ablation, PASCAL-S, H)",
        published=Published(0.361, "ISL20 padding ablation", floor=ISL20_TABLE_PRECISION,
                            comparable=_not_comparable_isl20),  # fmt: skip
    ),
    Claim(
        "ISL20-b.zeros", "ISL20",
        "Position comes through the padding: a zero-padded backbone decodes it even from an "
        "all-black image, which has no content",
        ("posenet",),
        "SPC(H) of the zero-padded backbone on black images",
        Rule("greater", 0.2),
        lambda t: mean_of(_posenet(t, "zeros", "black")),
    ),
    Claim(
        "ISL20-b.padding_free", "ISL20",
        "... and a backbone without padding decodes none from a black image",
        ("posenet",),
        "SPC(H) of the padding-free backbone (valid convs) on black images",
        Rule("within", 0.05),
        lambda t: mean_of(_posenet(t, "valid", "black")),
        by_construction="a uniform image through convolutions without padding gives uniform "
        "features: the readout predicts a constant map and its SPC is exactly 0",
    ),
    Claim(
        "ISL20-c", "ISL20",
        "Padding alone creates position information: the readout on raw pixels decodes position "
        "with zero padding 1 and not with padding 0",
        ("posenet_alone",),
        "SPC(H) of PosENet alone, readout padding 1 minus padding 0, natural images",
        Rule("greater", 0.2),
        lambda t: difference(_alone(t, 1), _alone(t, 0)),
        # [ISL20] Table 1 has padding 0 (.012) only: no published value of the difference
        paper_value=f"padding 0 alone: .012 ({ISL20_TABLE1}); no published padding-1 value",
    ),
]


def _with_arch_note(t: Tables, est: Estimate) -> Estimate:
    """``est`` with a note naming the two backbones' architectures where they differ."""
    if t.padding_free_arch and t.padding_free_arch != t.arch:
        est.notes.append(f"the arms differ in architecture: {t.arch} (padded) vs {t.padding_free_arch} "
                         "(padding-free): not only the padding")  # fmt: skip
    return est


def _pretrained_model(t: Tables, arch: str) -> str:
    """The study's pretrained model of torchvision architecture ``arch`` (the first listed)."""
    models = [m for m in t.values("pretrained_posenet", "model") if str(m).split(":")[:2] == ["torchvision", arch]]
    if not models:
        raise NotMeasured(f"no pretrained torchvision {arch} in this study (pretrained.models)")
    return models[0]


def _pretrained(t: Tables, arch: str, padding: str = "native"):
    return t.group("pretrained_posenet", model=_pretrained_model(t, arch), padding=padding, layer="all",
                   input="natural", **SPC)  # fmt: skip


ISL20 += [
    Claim(
        f"ISL20-d.{arch}", "ISL20",
        f"An ImageNet-pretrained {name} encodes absolute position in its features",
        ("pretrained_posenet",),
        f"PosENet SPC(H) of pretrained {name} (multi-level features, as published), natural images",
        Rule("greater", 0.2),
        lambda t, arch=arch: mean_of(_pretrained(t, arch)),
        paper_value=f"{value} ({ISL20_TABLE1})",
        published=Published(float(value), ISL20_TABLE1, floor=ISL20_TABLE_PRECISION,
                            comparable=lambda t: "" if t.settings.get("dataset") == "pascal_s" else
                            f"[ISL20] Table 1 is read on PASCAL-S; this study's images: {t.settings.get('dataset', '?')}"),
    )
    for arch, name, value in (("vgg16", "VGG-16", ".742"), ("resnet152", "ResNet-152", ".933"))
] + [
    Claim(
        "ISL20-d.vgg16_padding", "ISL20",
        "Much of a pretrained VGG-16's position information comes through its padding",
        ("pretrained_posenet",),
        "SPC(H), pretrained VGG-16 as published minus the same weights with valid convs swapped in "
        "(pretrained.what_if_paddings; the paper retrained a VGG-16 without padding)",
        Rule("greater", 0.1),
        lambda t: difference(_pretrained(t, "vgg16"), _pretrained(t, "vgg16", "valid")),
        paper_value="VGG-16 .742 vs without padding .381 ([ISL20] padding ablation, PASCAL-S, H)",
        published=Published(0.361, "ISL20 padding ablation", floor=ISL20_TABLE_PRECISION,
                            comparable="the paper retrained a padding-free VGG-16; the what-if keeps the weights"),
    ),
]


# [ISL20]'s general claim on a published ImageNet network this project can load offline:
# EfficientNet-Lite0 (pretrained.models: python:padpos.stages.pretrained.zoo:efficientnet_lite0)
EFFNET = "efficientnet_lite0"
NOT_COMPARABLE = f"not comparable (another net): VGG-16 .742, ResNet-152 .933 ({ISL20_TABLE1})"


def _effnet(t: Tables, padding: str = "native"):
    models = [m for m in t.values("pretrained_posenet", "model") if str(m).endswith(f":{EFFNET}")]
    if not models:
        raise NotMeasured(f"no pretrained {EFFNET} in this study (pretrained.models; config/effnet.yaml)")
    return t.group("pretrained_posenet", model=models[0], padding=padding, layer="all", input="natural", **SPC)


ISL20 += [
    Claim(
        f"ISL20-d.{EFFNET}", "ISL20",
        "An ImageNet-pretrained CNN encodes absolute position in its features (measured on EfficientNet-Lite0)",
        ("pretrained_posenet",),
        "PosENet SPC(H) of pretrained EfficientNet-Lite0 (multi-level features, TensorFlow 'same' padding "
        "as published), natural images",
        Rule("greater", 0.2),
        lambda t: mean_of(_effnet(t)),
        paper_value=NOT_COMPARABLE,
    ),
    Claim(
        f"ISL20-d.{EFFNET}_padding", "ISL20",
        "Much of a pretrained CNN's position information comes through its padding (measured on EfficientNet-Lite0)",
        ("pretrained_posenet",),
        "SPC(H), pretrained EfficientNet-Lite0 as published minus the same weights with circular padding "
        "swapped in (no border to read position from; valid is refused: its MBConv blocks add their input)",
        Rule("greater", 0.1),
        lambda t: difference(_effnet(t), _effnet(t, "circular")),
        paper_value="not comparable (another net, another ablation): VGG-16 .742 vs without padding .381 "
        "([ISL20] padding ablation, PASCAL-S, H)",
    ),
]


# ---------------------------------------------------------------- [ISL21] boundary effects
# The canvas nets (docs/protocols.md 5): an image in one cell of a k x k canvas, one net per
# arm predicting the cell and the class. Rows read the mean-colour canvas (the ICCV 2021
# code's) unless they compare colours; every contrast is paired over seeds (the arms share
# seeds, source images and cell draws) with the test images' binomial noise, and guarded
# against saturation. The rule of every row and why it follows from [ISL21]'s words:
# docs/protocols.md section 8. circular is left out of the per-scheme rows: on a uniform
# canvas with cells a multiple of the stride it is exactly equivariant (ISL21-a.circular),
# so its border and innermost rings are equal by construction, for both tasks.
CANVAS_TABLE = "canvas_location"
CANVAS_SCHEMES = ("zeros", "reflect", "replicate", "partial", "none")  # symmetric = replicate: no canvas arm
OTHER_PADDINGS = ("reflect", "replicate", "circular", "partial")  # [ISL21]'s "other common padding types"
PADDING_FREE = "valid"
IN_DISTRIBUTION_POINTS = 5.0  # mid-gap class accuracy within this of the held-out accuracy


def _canvas(t: Tables, padding: str, task: str, ring, canvas: str = "mean"):
    return t.group(CANVAS_TABLE, padding=padding, canvas=canvas, task=task, ring=ring)


def _innermost(t: Tables, padding: str, task: str) -> str:
    rings = [int(r) for r in t.values(CANVAS_TABLE, "ring", padding=padding, task=task) if str(r) != "all"]
    if not rings:
        raise NotMeasured(f"{CANVAS_TABLE} has no {task} rows for {padding}")
    return str(max(rings))


def _chance(task: str):
    def chance(t: Tables) -> float:
        values = t.values(CANVAS_TABLE, "chance", task=task)
        if not values:
            raise NotMeasured(f"{CANVAS_TABLE} has no {task} rows")
        return float(values[0])

    return chance


def _ring_gap(padding: str, task: str):
    """Border ring (0) minus innermost ring, paired over seeds."""
    return lambda t: difference(_canvas(t, padding, task, "0"), _canvas(t, padding, task, _innermost(t, padding, task)))


def _deficit(t: Tables, padding: str) -> tuple:
    """(innermost, border) class-accuracy groups of an arm."""
    return _canvas(t, padding, "class", _innermost(t, padding, "class")), _canvas(t, padding, "class", "0")


def _deficit_vs_padding_free(padding: str):
    """(innermost - border) class accuracy of ``padding`` minus the padding-free arm's, per seed."""

    def estimate(t: Tables) -> Estimate:
        inner, border = _deficit(t, padding)
        inner_v, border_v = _deficit(t, PADDING_FREE)
        return per_seed(lambda a, b, c, d: (a - b) - (c - d), [inner, border, inner_v, border_v],
                        "paired t over seeds (difference of differences)")  # fmt: skip

    return estimate


def _in_distribution(*paddings: str):
    """Precondition of a border-distance row: each arm's class accuracy at the mid gap (ring
    innermost // 2) lies within IN_DISTRIBUTION_POINTS of its held-out accuracy over all
    cells (the canvases it was trained on), else the row is out of distribution."""

    def check(t: Tables) -> str:
        bad = []
        for padding in paddings:
            try:
                mid = str(int(_innermost(t, padding, "class")) // 2)
                g_mid, g_all = _canvas(t, padding, "class", mid), _canvas(t, padding, "class", "all")
            except NotMeasured:
                continue  # the estimate names what is missing
            if abs(g_mid.mean - g_all.mean) > IN_DISTRIBUTION_POINTS:
                bad.append(f"{padding}: ring {mid} {g_mid.mean:.1f} % vs all cells {g_all.mean:.1f} %")
        if bad:
            return (f"inconclusive (out of distribution): mid-gap class accuracy more than "
                    f"{IN_DISTRIBUTION_POINTS:g} points from held-out accuracy ({'; '.join(bad)})")  # fmt: skip
        return ""

    return check


def _zeros_vs_best_other(t: Tables) -> Estimate:
    schemes, _ = t.scheme_arms([p for p in OTHER_PADDINGS if t.values(CANVAS_TABLE, "padding", padding=p)])
    if not schemes:
        raise NotMeasured("no other same-size padding scheme in this study's canvas nets")
    others = [_canvas(t, p, "location", "all") for p in schemes]
    best = max(others, key=lambda g: g.mean)
    return difference(_canvas(t, "zeros", "location", "all"), best)




def _chance_gap(t: Tables, padding: str) -> Estimate:
    chance = _chance("location")(t)
    est = mean_of(_canvas(t, padding, "location", "all"))
    return Estimate(est.value - chance, est.low - chance, est.high - chance, est.n, est.method, est.groups)


LOCATION_FLOOR = Saturation(chance=_chance("location"))
CLASS_FLOOR = Saturation(chance=_chance("class"))
ARM_NAME = {"none": "no padding ([ISL21]'s resize variant, none)", PADDING_FREE: "the padding-free arm (valid convs)"}

ISL21 = [
    Claim(
        f"ISL21-a.rings.{p}", "ISL21",
        f"Position comes from the border: with {ARM_NAME.get(p, p + ' padding')}, the cell of an image "
        "next to the canvas border is read better than that of an image beyond the receptive field",
        (CANVAS_TABLE,),
        f"location accuracy (points), border ring minus innermost ring, {p}, mean-colour canvas",
        Rule("greater", 10.0, "points"),
        _ring_gap(p, "location"),
        saturation=LOCATION_FLOOR,
        scheme=p if p != PADDING_FREE else "",
    )
    for p in (*CANVAS_SCHEMES, PADDING_FREE)
] + [
    Claim(
        "ISL21-a.zeros_none", "ISL21",
        "Zero padding gives a net position information that no padding ([ISL21]'s resize variant) "
        "does not: zeros reads the cells better than none",
        (CANVAS_TABLE,),
        "location accuracy over all cells (points), zeros minus none, mean-colour canvas",
        Rule("greater", 0.0, "points"),
        lambda t: difference(_canvas(t, "zeros", "location", "all"), _canvas(t, "none", "location", "all")),
        saturation=LOCATION_FLOOR,
    ),
    Claim(
        "ISL21-a.zeros_best", "ISL21",
        "Zero padding gives the most useful position information of the common padding types: "
        "zeros reads the cells better than the best of reflect, replicate, circular and partial",
        (CANVAS_TABLE,),
        "location accuracy over all cells (points), zeros minus the best other same-size scheme "
        "(by its mean), mean-colour canvas",
        Rule("greater", 0.0, "points"),
        _zeros_vs_best_other,
        saturation=LOCATION_FLOOR,
    ),
    Claim(
        "ISL21-a.canvas", "ISL21",
        "The canvas colour changes the position information: a zero-padded net reads the cells "
        "better on a black canvas (an edge against the padding from the first layer on) than on "
        "the mean colour (0 after normalisation, which the first layer's zero padding continues)",
        (CANVAS_TABLE,),
        "location accuracy over all cells (points), black minus mean canvas, zeros",
        Rule("greater", 0.0, "points"),
        lambda t: difference(_canvas(t, "zeros", "location", "all", "black"),
                             _canvas(t, "zeros", "location", "all", "mean")),  # fmt: skip
        saturation=LOCATION_FLOOR,
    ),
    Claim(
        "ISL21-a.circular", "ISL21",
        "Circular padding cannot solve the canvas task (chance level)",
        (CANVAS_TABLE,),
        "location accuracy over all cells minus chance (100 / k^2), circular, mean-colour canvas",
        Rule("within", 2.0, "points"),
        lambda t: _chance_gap(t, "circular"),
        by_construction="with cells a multiple of the net's total stride, a circular-padded net "
        "with global average pooling is exactly invariant to moving the image by a cell",
    ),
] + [
    Claim(
        f"ISL21-b.{p}", "ISL21",
        f"Boundary effect on semantics ({ARM_NAME.get(p, p + ' padding')}): an image next to the "
        "canvas border is classified worse than one beyond the receptive field (in distribution: "
        "the net saw every gap in training)",
        (CANVAS_TABLE,),
        f"class accuracy (points), innermost ring minus border ring, {p}, mean-colour canvas",
        Rule("greater", 1.0, "points"),
        lambda t, p=p: difference(*_deficit(t, p)),
        precondition=_in_distribution(p),
        saturation=CLASS_FLOOR,
        scheme=p if p != PADDING_FREE else "",
    )
    for p in (*CANVAS_SCHEMES, PADDING_FREE)
] + [
    Claim(
        f"ISL21-b.{p}.vs_padding_free", "ISL21",
        f"The semantic boundary effect comes from the padding: the border deficit in class "
        f"accuracy is larger with {ARM_NAME.get(p, p + ' padding')} than with valid convs",
        (CANVAS_TABLE,),
        f"class accuracy (innermost minus border ring), {p} minus the padding-free arm, per seed, "
        "mean-colour canvas",
        Rule("greater", 0.0, "points"),
        _deficit_vs_padding_free(p),
        precondition=_in_distribution(p, PADDING_FREE),
        saturation=CLASS_FLOOR,
        scheme=p,
    )
    for p in CANVAS_SCHEMES
]


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


# ---------------------------------------------------------------- [LIN23] PPP
def _deepest_layer(t: Tables) -> str:
    layers = t.values("ppp_formation", "layer")
    if not layers:
        raise NotMeasured("ppp_formation has no rows")
    return layers[-1]  # the table lists layers shallow to deep


def _epochs(t: Tables) -> tuple[int, int]:
    epochs = sorted(int(e) for e in t.values("ppp_formation", "epoch"))
    if len(epochs) < 2 or epochs[0] != 0:
        raise NotMeasured("ppp_formation needs epoch 0 (initialisation) and a trained epoch")
    return epochs[0], epochs[-1]


def _ppp(t: Tables, padding: str, epoch: int, metric: str):
    return t.group("ppp_formation", padding=padding, epoch=epoch, layer=_deepest_layer(t), metric=metric)


def _growth(padding: str):
    """PPP consistency, trained / initialisation: the geometric mean of the per-seed ratios
    (the same seed's net at both epochs: paired), else the ratio of the means."""

    def estimate(t: Tables) -> Estimate:
        first, last = _epochs(t)
        init, trained = _ppp(t, padding, first, "ppp_consistency"), _ppp(t, padding, last, "ppp_consistency")
        return ratio(init, trained)

    return estimate


def _padded_schemes(t: Tables) -> tuple[list[str], list[str]]:
    """The study's same-size schemes, one per distinct function on its arch (schemes that
    compute the same function are one arm: scheme_equivalence), and the notes saying so."""
    present = [p for p in t.values("ppp_formation", "padding") if p in SAME_SIZE_SCHEMES]
    return t.scheme_arms(present)


def _spread_change(metric: str):
    """Std across padding schemes (one per distinct function) of the metric at the deepest
    layer, trained minus initialisation: seed by seed where every scheme has the same seeds
    at both epochs (paired), else of the means with a parametric bootstrap."""

    def estimate(t: Tables) -> Estimate:
        first, last = _epochs(t)
        schemes, notes = _padded_schemes(t)
        if len(schemes) < 3:
            raise NotMeasured(f"ppp_formation has {len(schemes)} distinct padding schemes; a spread needs >= 3")
        groups = [_ppp(t, p, first, metric) for p in schemes] + [_ppp(t, p, last, metric) for p in schemes]
        k = len(schemes)

        def change(*means):
            m = np.stack(np.broadcast_arrays(*means))
            return m[k:].std(axis=0, ddof=1) - m[:k].std(axis=0, ddof=1)

        est = per_seed(change, groups, "paired t over seeds") if shared_seeds(groups) else bootstrap(change, groups)
        est.notes.extend(notes)
        return est

    return estimate


def _reliability(t: Tables, metric: str, column: str):
    df = t.table("metric_reliability_summary")
    rows = df[df["metric"] == metric]
    if rows.empty or column not in rows:
        raise NotMeasured(f"metric_reliability_summary has no {column} for {metric}")
    return rows.iloc[0]


def _dose_tracking(t: Tables) -> Estimate:
    g = t.group("metric_reliability_summary", prefix="spearman", metric="ppp_snr_db")
    return mean_of(g)


def _control_ppp(t: Tables) -> Estimate:
    """The control's PPP SNR: -inf dB (an exactly zero pattern) on every seed."""
    g = t.group("metric_reliability", mean="value", network="position_free_control", images="photos",
                metric="ppp_snr_db")  # fmt: skip
    return Estimate(g.mean, g.mean, g.mean, g.n, "exact (every seed)", [g])


def _detection_advantage(t: Tables) -> Estimate:
    """PPP's calibrated detection rate on the padded trained backbones minus the best of
    PosENet's (any target) and the location test's, each at its own null's threshold;
    Newcombe's interval for a difference of two proportions (Wilson scores)."""
    rows = {m: _reliability(t, m, "calibrated_tpr") for m in
            ("ppp_snr_db", "posenet_spc_H", "posenet_spc_V", "posenet_spc_G", "location_accuracy")}  # fmt: skip
    ppp = rows["ppp_snr_db"]
    best = max((r for m, r in rows.items() if m != "ppp_snr_db"), key=lambda r: r["calibrated_tpr"])
    return newcombe(int(ppp["n_positive_detected"]), int(ppp["n_positive"]),
                    int(best["n_positive_detected"]), int(best["n_positive"]))  # fmt: skip


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's 95 % score interval of a proportion k / n."""
    from scipy import stats

    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def newcombe(k1: int, n1: int, k2: int, n2: int) -> Estimate:
    """p1 - p2 with Newcombe's hybrid score interval (method 10)."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Estimate(d, low, high, min(n1, n2), "Newcombe (Wilson)", [])


# ---------------------------------------------------------------- [LIN23] by behaviour (protocols 6c)
COMPARISON_IMAGES = "boxes"  # the probe images the scorecard reads (the box nets' own domain)
LIN23_RELIABLY = "measure PPP more reliably than the existing metrics based on PosENet and a test in F-Conv"


def _comparison(statistic: str) -> Callable[[Tables], Estimate]:
    """PPP SNR minus the best other metric on ``statistic`` (table ``metric_comparison``,
    the box probe scenes), with the table's paired bootstrap interval over nets."""

    def estimate(t: Tables) -> Estimate:
        df = t.table("metric_comparison")
        rows = df[(df["statistic"] == statistic) & (df["metric"] == "ppp_minus_best")
                  & (df["images"].astype(str) == COMPARISON_IMAGES)]  # fmt: skip
        if rows.empty:
            raise NotMeasured(f"metric_comparison has no {statistic} row on {COMPARISON_IMAGES}")
        row = rows.iloc[0]
        group = Group(f"metric_comparison[{statistic}, PPP SNR minus {row['best_other']}, {row['regimes']}]",
                      float(row["value"]), math.nan, int(row["n"]), n_failed=int(row["n_failed"]))  # fmt: skip
        return Estimate(float(row["value"]), float(row["ci_low"]), float(row["ci_high"]), int(row["n"]),
                        "paired bootstrap over nets (the best other chosen in every resample)", [group])  # fmt: skip

    return estimate


def _lin23_comparison() -> list[Claim]:
    rows = (
        ("separation", "ranks the padded nets that use position (their task rewards it) above the "
         "padded nets that do not", "AUC between the `uses` and `ignores` box nets", "greater", ""),
        ("gap", "orders the padded nets by how much they use position", "Spearman rho with the "
         "behavioural gap (similar minus dissimilar accuracy) over the padded box nets", "greater", ""),
        ("fp_content", "flags fewer nets that cannot read absolute position (circular)", "nominal "
         "false-positive rate on the `content_only` (circular) box nets", "less", ""),
        ("fp_boundary", "flags fewer nets that read only the map boundary (valid, no padding)",
         "nominal false-positive rate on the `boundary_only` (valid) box nets", "less",
         "PPP of a padding-free net with real context is exactly 0, so PPP cannot flag a "
         "boundary-only net: the difference is <= 0 whatever the data (the others' rates are in "
         "metric_comparison)"),
    )  # fmt: skip
    statistic = {"separation": "separation", "gap": "gap_rho", "fp_content": "fpr_content_only",
                 "fp_boundary": "fpr_boundary_only"}  # fmt: skip
    return [
        Claim(
            f"LIN23-c.{name}", "LIN23",
            f"PPP measures position from padding more reliably than PosENet and the location test: it {what}",
            ("metric_comparison",),
            f"{measured}, PPP SNR minus the {'highest' if direction == 'greater' else 'lowest'} of "
            f"PosENet (H, V, G) and the location test ({COMPARISON_IMAGES} probe scenes)",
            Rule(direction, 0.0),
            _comparison(statistic[name]),
            paper_value=f'[LIN23]: "{LIN23_RELIABLY}"',
            by_construction=by_construction,
        )
        for name, what, measured, direction, by_construction in rows
    ]


def _lin23_a() -> list[Claim]:
    return [
        Claim(
            f"LIN23-a.{scheme}", "LIN23",
            f"PPP is primarily a learning artifact ({scheme} padding): more than half of the trained "
            "pattern comes from training",
            ("ppp_formation",),
            f"PPP consistency at the deepest layer, trained / initialisation ({scheme}; the same "
            "measurement, BatchNorm re-estimated, at every epoch; geometric mean of the per-seed ratios)",
            Rule("greater", 2.0, "x"),
            _growth(scheme),
            scheme=scheme,
        )
        for scheme in SAME_SIZE_SCHEMES
    ]


LIN23 = [
    *_lin23_a(),
    Claim(
        "LIN23-b.snr", "LIN23",
        "After training, PPP depends less on the padding scheme: the spread of PPP SNR across "
        "schemes shrinks",
        ("ppp_formation",),
        "std across the distinct padding schemes (one per function) of PPP SNR (dB) at the deepest layer, "
        "trained minus initialisation (seed by seed where paired)",
        Rule("less", 0.0, "dB"),
        _spread_change("ppp_snr_db"),
    ),
    Claim(
        "LIN23-b.consistency", "LIN23",
        "... and so does the spread of PPP consistency",
        ("ppp_formation",),
        "std across the distinct padding schemes (one per function) of PPP consistency at the deepest layer, "
        "trained minus initialisation (seed by seed where paired)",
        Rule("less", 0.0),
        _spread_change("ppp_consistency"),
    ),
    Claim(
        "LIN23-c.null", "LIN23",
        "PPP reads nothing where no padding exists (a padding-free net on real-context crops)",
        ("metric_reliability",),
        "PPP SNR (dB) of the padding-free control net, photograph crops",
        Rule("less", -100.0, "dB"),
        _control_ppp,
        by_construction="a net without padding, evaluated with real context, computes the same "
        "features for a crop and for its context's centre: the border term is 0 by definition",
    ),
    Claim(
        "LIN23-c.dose", "LIN23",
        "PPP tracks a known amount of position information injected into a padding-free net",
        ("metric_reliability_summary",),
        "Spearman correlation of PPP SNR with the injected dose (mean over seeds)",
        Rule("greater", 0.9),
        _dose_tracking,
        by_construction="the injected map is the same for every image and PPP averages the feature "
        "difference against real context over images, so the map passes into PPP in proportion to "
        "the dose by design",
    ),
    Claim(
        "LIN23-c.detection", "LIN23",
        "PPP detects padding-induced position more reliably than PosENet and the location test: "
        "at the same false-positive rate it detects more of the padded networks",
        ("metric_reliability_summary",),
        "detection rate on the trained padded backbones, PPP minus the best other metric, each "
        "metric thresholded at its own null (the padding-free control's seeds)",
        Rule("greater", 0.0),
        _detection_advantage,
        by_construction="PPP's null on the padding-free control is exactly -inf dB on every seed, so "
        "its threshold is -inf and it detects every padded net: the difference is >= 0 whatever the "
        "data (the behavioural rows LIN23-c.separation, .gap and .fp_* decide the claim)",
    ),
    *_lin23_comparison(),
]

CLAIMS: tuple[Claim, ...] = (*ISL20, *ISL21, *KAY20, *LIN23)
assert len({c.id for c in CLAIMS}) == len(CLAIMS), "claim ids must be unique"
