"""The claims of the four papers, each a statistic of the study's tables and a rule
fixed before the data are seen (docs/protocols.md section 8 explains every row).

Papers: [ISL20] Islam, Jia, Bruce, ICLR 2020 (PosENet); [ISL21] Islam et al. 2021
(padding, boundary effects, the canvas task); [KAY20] Kayhan & van Gemert, CVPR 2020
(F-Conv tests); [LIN23] Lin et al., ICML 2023 (PPP). Published values are quoted with
their source; where a paper publishes none that this protocol measures, the field is empty.
"""

from __future__ import annotations

import math

import numpy as np

from padpos.names import SAME_SIZE_SCHEMES
from padpos.stages.claims.scorecard import (
    MIN_BORDER_GAP_PX,
    Claim,
    Estimate,
    NotMeasured,
    Rule,
    Tables,
    bootstrap,
    difference,
    mean_of,
)

KAY20_README = "KAY20 Red-Green table (official repository oskyhn/CNNs-Without-Borders, README)"
ISL20_TABLE1 = "ISL20 Table 1, PASCAL-S, target H"

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
        paper_value=f"padding 0: .012 ({ISL20_TABLE1})",
    ),
]


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
def _canvas(t: Tables, padding: str, ring: str, canvas: str = "mean"):
    return t.group("canvas_location", padding=padding, canvas=canvas, ring=ring)


def _border_effect(t: Tables, padding: str = "zeros") -> Estimate:
    distances = sorted(int(d) for d in t.values("border_distance", "distance_px", padding=padding))
    if not distances:
        raise NotMeasured(f"border_distance has no rows for padding {padding}")
    method = t.values("border_distance", "method", padding=padding)[0]
    far = t.group("border_distance", padding=padding, method=method, distance_px=distances[-1])
    near = t.group("border_distance", padding=padding, method=method, distance_px=distances[0])
    return difference(far, near)


def _border_gaps_resolvable(t: Tables) -> str:
    largest = max(int(d) for d in t.values("border_distance", "distance_px"))
    if largest < MIN_BORDER_GAP_PX:
        return (f"gaps of at most {largest} px cannot separate the effect from noise (needs "
                f">= {MIN_BORDER_GAP_PX} px: canvas.border_distance.margin_px)")  # fmt: skip
    return ""


def _chance_gap(t: Tables, padding: str) -> Estimate:
    if "canvas_grid" not in t.settings:
        raise NotMeasured("the study's canvas grid is not known")
    chance = 100.0 / int(t.settings["canvas_grid"]) ** 2
    est = mean_of(_canvas(t, padding, "all"))
    return Estimate(est.value - chance, est.low - chance, est.high - chance, est.n, est.method, est.groups)


ISL21 = [
    Claim(
        "ISL21-a.corners", "ISL21",
        "On the location-dependent canvas task, zero padding reads cells in the corners at least "
        "as well as no padding ([ISL21]'s resize variant, `none`)",
        ("canvas_location",),
        "corner-cell accuracy (points), zeros minus none, mean-colour canvas, final epoch",
        Rule("greater", -5.0, "points"),
        lambda t: difference(_canvas(t, "zeros", "corner"), _canvas(t, "none", "corner")),
    ),
    Claim(
        "ISL21-a.rings", "ISL21",
        "Without padding, canvas accuracy drops towards the canvas border: corner cells are read "
        "worse than interior cells",
        ("canvas_location",),
        "interior minus corner accuracy (points), none, mean-colour canvas",
        Rule("greater", 2.0, "points"),
        lambda t: difference(_canvas(t, "none", "interior"), _canvas(t, "none", "corner")),
    ),
    Claim(
        "ISL21-a.circular", "ISL21",
        "Circular padding cannot solve the canvas task (chance level)",
        ("canvas_location",),
        "accuracy over all cells minus chance (100 / k^2), circular, mean-colour canvas",
        Rule("within", 2.0, "points"),
        lambda t: _chance_gap(t, "circular"),
        by_construction="with cells a multiple of the net's total stride, a circular-padded net "
        "with global average pooling is exactly invariant to moving the image by a cell",
    ),
    Claim(
        "ISL21-b", "ISL21",
        "Boundary effect on semantics: objects near the image border are classified worse than "
        "objects far from it",
        ("border_distance",),
        "accuracy (points) at the largest gap minus at gap 0 px, zero-padded backbone",
        Rule("greater", 1.0, "points"),
        _border_effect,
        precondition=_border_gaps_resolvable,
    ),
]


# ---------------------------------------------------------------- [KAY20] F-Conv tests
def _redgreen(t: Tables, variant: str, test_set: str):
    return t.group("fconv_redgreen", prefix="accuracy", padding=variant, test_set=test_set)


def _gap(variant: str):
    return lambda t: difference(_redgreen(t, variant, "similar"), _redgreen(t, variant, "dissimilar"))


def _location_at_largest_border(t: Tables, init: str) -> Estimate:
    borders = sorted(int(b) for b in t.values("fconv_location", "border", padding="zeros", init=init))
    if not borders:
        raise NotMeasured(f"fconv_location has no zeros / {init} rows")
    return mean_of(t.group("fconv_location", prefix="accuracy", padding="zeros", init=init, border=borders[-1]))


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
        paper_value=f"100.0 - 0.2 = 99.8 ({KAY20_README})",
    ),
    Claim(
        "KAY20-a.zeros", "KAY20",
        "S-Conv with zero padding exploits absolute location",
        ("fconv_redgreen",),
        "accuracy (points), similar minus dissimilar test set, S-Conv zeros",
        Rule("greater", 20.0, "points"),
        _gap("zeros"),
        paper_value=f"99.8 - 8.4 = 91.4 ({KAY20_README})",
    ),
    Claim(
        "KAY20-b.circular.equal", "KAY20",
        "S-Conv with circular padding cannot exploit absolute location",
        ("fconv_redgreen",),
        "accuracy (points), similar minus dissimilar, S-Conv circular",
        Rule("within", 2.0, "points"),
        _gap("circular"),
        paper_value=f"73.7 - 73.7 = 0 ({KAY20_README})",
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
        paper_value=f"73.7 ({KAY20_README})",
    ),
    Claim(
        "KAY20-b.full.learns", "KAY20",
        "F-Conv classifies the similar set well above chance",
        ("fconv_redgreen",),
        "accuracy (%) on the similar test set, F-Conv (chance 50)",
        Rule("greater", 60.0, "%"),
        lambda t: mean_of(_redgreen(t, "full", "similar")),
        paper_value=f"89.7 ({KAY20_README})",
    ),
    Claim(
        "KAY20-c.frozen", "KAY20",
        "Far from the border, frozen random zero-padded features no longer tell the two corners apart",
        ("fconv_location",),
        "location-test accuracy (%) at the largest extra border, zeros, random-frozen (chance 50)",
        Rule("less", 60.0, "%"),
        lambda t: _location_at_largest_border(t, "random-frozen"),
    ),
    Claim(
        "KAY20-c.trained", "KAY20",
        "A zero-padded net trained for the task reads absolute location far from the border",
        ("fconv_location",),
        "location-test accuracy (%) at the largest extra border, zeros, trained from scratch",
        Rule("greater", 60.0, "%"),
        lambda t: _location_at_largest_border(t, "scratch"),
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
    def estimate(t: Tables) -> Estimate:
        first, last = _epochs(t)
        init, trained = _ppp(t, padding, first, "ppp_consistency"), _ppp(t, padding, last, "ppp_consistency")
        with np.errstate(divide="ignore", invalid="ignore"):
            return bootstrap(lambda a, b: np.asarray(b) / np.asarray(a), [init, trained])

    return estimate


def _padded_schemes(t: Tables) -> list[str]:
    present = t.values("ppp_formation", "padding")
    return [p for p in present if p in SAME_SIZE_SCHEMES]


def _spread_change(metric: str):
    """Std across padding schemes of the metric's mean at the deepest layer: trained minus
    initialisation (a parametric bootstrap over every scheme's seeds)."""

    def estimate(t: Tables) -> Estimate:
        first, last = _epochs(t)
        schemes = _padded_schemes(t)
        if len(schemes) < 3:
            raise NotMeasured(f"ppp_formation has {len(schemes)} padding schemes; a spread needs >= 3")
        groups = [_ppp(t, p, first, metric) for p in schemes] + [_ppp(t, p, last, metric) for p in schemes]
        k = len(schemes)

        def change(*means):
            m = np.stack(np.broadcast_arrays(*means))
            return m[k:].std(axis=0, ddof=1) - m[:k].std(axis=0, ddof=1)

        return bootstrap(change, groups)

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


def _lin23_a() -> list[Claim]:
    return [
        Claim(
            f"LIN23-a.{scheme}", "LIN23",
            f"PPP is a learning artifact ({scheme} padding): training grows the consistent pattern",
            ("ppp_formation",),
            f"PPP consistency at the deepest layer, trained / initialisation ({scheme}; the same "
            "measurement, BatchNorm re-estimated, at every epoch)",
            Rule("greater", 1.0, "x"),
            _growth(scheme),
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
        "std across padding schemes of PPP SNR (dB) at the deepest layer, trained minus initialisation",
        Rule("less", 0.0, "dB"),
        _spread_change("ppp_snr_db"),
    ),
    Claim(
        "LIN23-b.consistency", "LIN23",
        "... and so does the spread of PPP consistency",
        ("ppp_formation",),
        "std across padding schemes of PPP consistency at the deepest layer, trained minus initialisation",
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
    ),
]

CLAIMS: tuple[Claim, ...] = (*ISL20, *ISL21, *KAY20, *LIN23)
assert len({c.id for c in CLAIMS}) == len(CLAIMS), "claim ids must be unique"
