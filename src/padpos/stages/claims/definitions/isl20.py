"""The claims of [ISL20] Islam, Jia, Bruce, ICLR 2020 (PosENet): absolute position in the
features of a padded CNN, read by PosENet."""

from __future__ import annotations

from padpos.stages.claims.scorecard import (
    Claim,
    Estimate,
    NotMeasured,
    Published,
    Rule,
    Tables,
    difference,
    mean_of,
)

ISL20_TABLE1 = "ISL20 Table 1, PASCAL-S, target H"
# tolerance floor of the agreement with a published number (docs/protocols.md 8):
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
