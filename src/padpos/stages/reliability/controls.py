"""Metric reliability (docs/protocols.md section 6): PPP, PosENet and the F-Conv location
test on the SAME networks, against networks whose truth is known.

Networks:
- the position-free control: :class:`ProbeNet`, 3 x 3 convs without any padding
  (``valid``), so no unit ever sees a border; evaluated on real-context crops (PPP)
  and on the very same crops (PosENet, location test). Truth: no position
  information from padding. Its images' content correlates with position
  (photographs, and a synthetic scene with a bright top: ``padpos.data.photos``).
- the dose-response calibration: the control with a known position map
  ``dose * P`` added to one layer's output (:class:`PositionInjection`); ``P``
  depends on the distance to each side of the map, as a padding border does, and
  ``dose`` is in units of that layer's image-feature std. Truth: grows with the
  dose, 0 at dose 0 (where the network IS the control).
- positive controls: the study's trained backbones at initialisation and trained;
  a CoordConv-style :class:`ProbeNet` (coordinate channels concatenated to the
  input, no padding): position information present, not from padding.

Metrics per network (``METRICS``): ``ppp_snr_db`` and ``ppp_consistency`` at the
deepest probed layer; PosENet SPC per target on held-out crops
(``posenet_spc_H`` ...); ``location_accuracy``, the quadrant test of [KAY20] with
the network frozen and only a linear head fitted on its global-max-pooled
deepest features. Each metric also says whether it *detects* position
information by a rule of its own (``detects``); the false-positive rate is the
share of control runs that it flags.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from padpos.data.pixels import normalise_pixels
from padpos.names import RELIABILITY_IMAGE_SETS, RELIABILITY_METRICS
from padpos.optim import fit_logistic
from padpos.specs import with_defaults

# ---------------------------------------------------------------- constants
POSENET_TARGETS = ("H", "V", "G")  # the smooth targets (HS / VS need deep features)
METRICS = RELIABILITY_METRICS  # ppp_snr_db, ppp_consistency, posenet_spc_H/V/G, location_accuracy
# the metric each family of figures shows first, one per method
HEADLINE: tuple[str, ...] = ("ppp_snr_db", "posenet_spc_V", "location_accuracy")
NULL_VALUE = {"ppp_snr_db": -math.inf, "ppp_consistency": 0.0, "location_accuracy": 50.0,
              **{f"posenet_spc_{t}": 0.0 for t in POSENET_TARGETS}}  # fmt: skip

# Detection rules (project choices, docs/reliability.md):
# PPP: a pattern whose amplitude is above 0.1 % of the image-feature std (-60 dB, far
#   above the float32 floor of a padding-free net, ~ -140 dB) AND above its finite-
#   sample floor (consistency > 4 / N: an image-dependent disturbance gives ~1 / N);
# PosENet: mean per-image SPC > 0, one-sided t-test over the test images, p < ALPHA;
# location test: accuracy > 50 %, one-sided binomial test over the test canvases, p < ALPHA.
PPP_MIN_SNR_DB = -60.0
PPP_CONSISTENCY_FLOORS = 4.0
ALPHA = 0.01

# the canvas of the quadrant test, scaled to the image size: [KAY20]'s 56 px images on
# a 120 px canvas, i.e. an offset of 64 / 56 image sides between the two corners, rounded
# up to a multiple of CORNER_STEP px (the largest total stride of the small backbones;
# [KAY20]'s 64 is a multiple of its ResNet's 32), so that the two placements fall on the
# same sampling grid of every map and no aliasing phase tells them apart
CORNER_OFFSET = 64 / 56
CORNER_STEP = 8
HEAD_L2 = 1e-3  # as padpos.stages.fconv_location.location


# ---------------------------------------------------------------- networks
class CoordChannels(nn.Module):
    """Concatenate two coordinate channels (row, column in [-1, 1] over the INPUT's
    own extent) to the input: CoordConv's position information, no padding."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        rows = torch.linspace(-1.0, 1.0, h, dtype=x.dtype, device=x.device).view(1, 1, h, 1)
        cols = torch.linspace(-1.0, 1.0, w, dtype=x.dtype, device=x.device).view(1, 1, 1, w)
        return torch.cat([x, rows.expand(n, 1, h, w), cols.expand(n, 1, h, w)], 1)


class ProbeNet(nn.Module):
    """Four 3 x 3 conv-BN-ReLU blocks WITHOUT padding (``valid``), strides 1, 2, 1, 2,
    widths w, 2w, 2w, 4w; feature taps ``block1..block4``. With ``coords`` the input
    first gets two coordinate channels (:class:`CoordChannels`). No head: the
    reliability metrics read features only. A 32 px input gives maps of 30, 14, 12, 5."""

    LAYERS = ("block1", "block2", "block3", "block4")

    def __init__(self, width: int = 8, in_channels: int = 3, coords: bool = False, padding: int = 0):
        super().__init__()
        self.coords = CoordChannels() if coords else nn.Identity()
        chans = [in_channels + (2 if coords else 0), width, 2 * width, 2 * width, 4 * width]
        for i, stride in enumerate((1, 2, 1, 2)):
            block = nn.Sequential(
                # padding > 0 (zero padding) only for tests: a net that DOES see a border
                nn.Conv2d(chans[i], chans[i + 1], 3, stride, padding=padding, bias=False),
                nn.BatchNorm2d(chans[i + 1]),
                nn.ReLU(),
            )
            setattr(self, f"block{i + 1}", block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.coords(x)
        for name in self.LAYERS:
            x = getattr(self, name)(x)
        return x


def side_distance_maps(h: int, w: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """4 x h x w: distance (in positions) of every map position to the left, right,
    top and bottom side of the map."""
    cols = torch.arange(w, dtype=dtype, device=device).view(1, w).expand(h, w)
    rows = torch.arange(h, dtype=dtype, device=device).view(h, 1).expand(h, w)
    return torch.stack([cols, w - 1 - cols, rows, h - 1 - rows])


class PositionInjection(nn.Module):
    """``inner(x) + dose * scale * P``: a known position map added to a layer's output.

    P_c(i, j) = sum over the four sides k of weight[c, k] * exp(-d_k(i, j) / decay):
    a per-channel mixture of decays from each side of the map (what a padding border
    writes, each side differently), evaluated on whatever map size the layer
    produces. ``scale`` makes dose 1 an RMS of P equal to ``unit`` (the layer's
    image-feature std) on a ``reference_size`` map (the crop's), whatever the size
    the map has later (a larger input's map gets the same pattern at its sides).
    At dose 0 the module returns ``inner(x)`` unchanged.
    """

    def __init__(self, inner: nn.Module, channels: int, reference_size: Sequence[int],
                 unit: float, dose: float = 0.0, decay: float = 2.0, pattern_seed: int = 0):
        super().__init__()
        self.inner = inner
        self.dose = float(dose)
        self.decay = float(decay)
        gen = torch.Generator().manual_seed(pattern_seed)
        self.register_buffer("weight", torch.randn(channels, 4, generator=gen))
        rms = float(self.pattern(*reference_size).pow(2).mean().sqrt())
        self.scale = float(unit) / rms

    def pattern(self, h: int, w: int) -> torch.Tensor:
        """P (unscaled), C x h x w, in the weights' dtype and device."""
        decays = torch.exp(-side_distance_maps(h, w, self.weight.dtype, self.weight.device) / self.decay)
        return torch.einsum("ck,khw->chw", self.weight, decays)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        if self.dose == 0.0:
            return out
        p = self.pattern(*out.shape[-2:]).to(out.dtype)
        return out + (self.dose * self.scale) * p


def inject_position(model: nn.Module, layer: str, dose: float, unit: float,
                    reference_size: Sequence[int], decay: float = 2.0,
                    pattern_seed: int = 0) -> nn.Module:
    """Replace ``model.<layer>`` (a direct child) by a :class:`PositionInjection` of it,
    in place; the layer's name (the feature tap) stays the same. Returns the model."""
    inner = getattr(model, layer, None)
    if not isinstance(inner, nn.Module):
        raise KeyError(f"{type(model).__name__} has no layer {layer!r} to inject a position map into")
    channels = _out_channels(inner)
    setattr(model, layer, PositionInjection(inner, channels, reference_size, unit, dose,
                                            decay, pattern_seed))
    return model


def set_dose(model: nn.Module, dose: float) -> nn.Module:
    """Set the dose of every :class:`PositionInjection` in ``model``."""
    found = [m for m in model.modules() if isinstance(m, PositionInjection)]
    if not found:
        raise ValueError("the model has no position injection")
    for m in found:
        m.dose = float(dose)
    return model


def _out_channels(module: nn.Module) -> int:
    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"cannot tell the output channels of {type(module).__name__}")
    return convs[-1].out_channels


# ---------------------------------------------------------------- images
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


# ---------------------------------------------------------------- the three metrics
def deepest(layers: Sequence[str]) -> str:
    return list(layers)[-1]


def ppp_of(model: nn.Module, layers: Sequence[str], images: ImageSet, batch_size: int = 64) -> dict:
    """PPP metrics of every layer on the image set's real-context crops (with as much
    context as the image set has, at least what the receptive fields need):
    ``{layer: {ppp_snr_db, ppp_consistency, ppp_reach_px}}``, plus ``'_n'``, the images."""
    from padpos.features import context_margin, feature_sizes, layer_geometry
    from padpos.stages.ppp.pattern import accumulate_ppp, layer_metrics

    geometry = layer_geometry(model, layers)
    need = context_margin(geometry, images.size, feature_sizes(model, layers, images.size))
    # all the context the images have (on every layer's stride grid), not just the
    # receptive field's need: a map-border effect that no input gradient sees (an
    # injected position map; a padding-free net needs no context at all) must still
    # be compared with a wider map. More real context never changes an exact reference.
    step = math.lcm(*(g.stride for g in geometry.values()))
    margin = max(need, step * (images.margin // step))
    x_plus = images.context(margin)
    strides = {name: g.stride for name, g in geometry.items()}
    batches = ((images.test[i : i + batch_size], x_plus[i : i + batch_size])
               for i in range(0, len(images.test), batch_size))
    stats = accumulate_ppp(model, batches, layers, margin, strides)
    out = {name: layer_metrics(st, strides[name]) for name, st in stats.items()}
    out["_n"] = len(images.test)
    return out


def ppp_detects(snr_db: float, consistency: float, n: int) -> bool:
    """PPP's detection rule (see the constants above)."""
    return bool(snr_db > PPP_MIN_SNR_DB and consistency > PPP_CONSISTENCY_FLOORS / n)


def posenet_of(model: nn.Module, layers: Sequence[str], images: ImageSet, spec: dict, seed: int) -> dict:
    """A PosENet readout trained on the frozen network's multilevel features of the
    training crops, scored on the held-out crops: per target in ``POSENET_TARGETS``
    (mean SPC, one-sided t-test p-value of the per-image SPC > 0)."""
    from scipy import stats as st

    from padpos.stages.posenet import readout as pn

    size = images.size
    grid = pn.grid_size(size, spec.get("grid"), spec.get("grid_floor", 8))
    featurize = pn.backbone_featurizer(model, layers, grid)
    targets = pn.position_targets(size, size, spec.get("stripe_periods", 2.5))
    readout = pn.train_readout(
        featurize(images.train), targets, padding=0, epochs=spec["epochs"],
        batch_size=spec["batch_size"], lr=spec.get("lr", 0.1), momentum=spec.get("momentum", 0.9),
        weight_decay=spec.get("weight_decay", 1e-4), seed=seed,
    )  # fmt: skip
    pred = pn.predict(readout, featurize(images.test.double()), (size, size))
    spc = pn.score_maps(pred, targets)["spc"].cpu().numpy()  # N x 5
    out = {}
    for target in POSENET_TARGETS:
        values = spc[:, pn.TARGETS.index(target)]
        if np.allclose(values, values[0]):
            p = 0.0 if values[0] > 0 else 1.0
        else:
            p = float(st.ttest_1samp(values, 0.0, alternative="greater").pvalue)
        out[target] = (float(values.mean()), p)
    return out


def corner_offset(size: int) -> int:
    """Offset (px) between the two placements of a ``size`` px image (see CORNER_STEP)."""
    return CORNER_STEP * math.ceil(CORNER_OFFSET * size / CORNER_STEP)


def corner_canvases(images: torch.Tensor, offset: int | None = None, frame: int = 0):
    """Every image once at the top-left (class 0) and once ``offset`` px down and right
    (class 1) of a canvas of value 0 (the data set's mean colour for normalised
    images, as in [KAY20]'s code): (2N x C x (S + offset + 2 frame)^2, labels).

    ``frame`` > 0 surrounds both placements with that much canvas, so that no image
    touches the canvas border (a diagnostic: with a frame as wide as the receptive
    field, a padding-free net with global max pooling cannot tell the two apart)."""
    n, c, s, _ = images.shape
    offset = corner_offset(s) if offset is None else int(offset)
    side = s + offset + 2 * frame
    canvas = images.new_zeros(2 * n, c, side, side)
    canvas[:n, :, frame : frame + s, frame : frame + s] = images
    canvas[n:, :, frame + offset : frame + offset + s, frame + offset : frame + offset + s] = images
    return canvas, (torch.arange(2 * n) // n).long()


@torch.no_grad()
def pooled_features(model: nn.Module, layer: str, x: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Global max pooling of the layer's map: N x C."""
    from padpos.features import layer_features

    out = [layer_features(model, x[i : i + batch_size], [layer])[layer].amax(dim=(-2, -1))
           for i in range(0, len(x), batch_size)]
    return torch.cat(out).float()


def location_of(model: nn.Module, layer: str, images: ImageSet) -> tuple[float, float]:
    """Quadrant test of the frozen network: a linear head (L2-regularised logistic
    regression, :func:`padpos.optim.fit_logistic`) on the standardised global-max-pooled ``layer``
    features of the training crops' canvases; returns the accuracy (%) on the
    held-out crops' canvases and the one-sided binomial p-value of accuracy > 50 %."""
    from scipy import stats as st

    xtr, ytr = corner_canvases(images.train)
    xte, yte = corner_canvases(images.test)
    ftr, fte = pooled_features(model, layer, xtr), pooled_features(model, layer, xte)
    mean, std = ftr.mean(0), ftr.std(0).clamp(min=1e-6)
    w, b = fit_logistic((ftr - mean) / std, ytr, HEAD_L2)
    correct = int((((((fte - mean) / std).double() @ w + b) > 0).long() == yte).sum())
    p = float(st.binomtest(correct, len(yte), 0.5, alternative="greater").pvalue)
    return 100.0 * correct / len(yte), p


def measure_metrics(model: nn.Module, layers: Sequence[str], images: ImageSet, spec: dict, seed: int) -> list[dict]:
    """All metrics of one network on one image set: rows ``metric, value, detects, layer``.

    The network is used as it is (eval mode, frozen, its BatchNorm statistics as
    given): the same network for all three methods."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    last = deepest(layers)
    ppp = ppp_of(model, layers, images, spec.get("batch_size_ppp", 64))
    snr, cons = ppp[last]["ppp_snr_db"], ppp[last]["ppp_consistency"]
    hit = ppp_detects(snr, cons, ppp["_n"])
    rows = [dict(metric="ppp_snr_db", value=snr, detects=hit, layer=last),
            dict(metric="ppp_consistency", value=cons, detects=hit, layer=last)]
    for target, (value, p) in posenet_of(model, layers, images, spec["posenet"], seed).items():
        rows.append(dict(metric=f"posenet_spc_{target}", value=value, detects=p < ALPHA, layer="all"))
    acc, p = location_of(model, last, images)
    rows.append(dict(metric="location_accuracy", value=acc, detects=p < ALPHA, layer=last))
    return rows


# ---------------------------------------------------------------- reference networks
def feature_unit(model: nn.Module, layer: str, images: torch.Tensor) -> tuple[float, tuple[int, int]]:
    """sqrt(mean over channels and positions of Var_x[f]) of ``layer`` on ``images``
    (the dose unit: the image-feature std, PPP's SNR denominator), and the map size."""
    from padpos.features import layer_features

    with torch.no_grad():
        f = layer_features(model.eval(), images, [layer])[layer].double()
    return float(f.var(0, unbiased=False).mean().sqrt()), tuple(f.shape[-2:])


def probe_net(seed: int, width: int, images: ImageSet, coords: bool = False) -> ProbeNet:
    """A padding-free :class:`ProbeNet` initialised with ``seed``, its BatchNorm statistics
    estimated on the image set's training crops (an untrained net's deep features
    would otherwise be unnormalised), in eval mode."""
    from padpos.runtime import recalibrate_batchnorm

    torch.manual_seed(seed)
    net = ProbeNet(width, images.train.shape[1], coords)
    return recalibrate_batchnorm(net, images.train, batch_size=256)


# Where a network's position information can come from (docs/protocols.md section 6): the
# padding (or, for `none`, its resize), the image boundary (every map is finite: [KAY20]
# shows that V-Conv reads absolute location), the content (position-biased images), the
# coordinates (CoordConv) or a map injected on purpose (the calibration). `truth` is what a
# metric of position *from padding* should read: present only where padding injects it.
IMAGE_SOURCES = {"photos": "boundary, content", "biased": "boundary, content"}
# PPP of a padding-free net with real context has no border term, by definition
BY_CONSTRUCTION = {"ppp_snr_db": "PPP of a padding-free net with real context is exactly 0 by definition",
                   "ppp_consistency": "PPP of a padding-free net with real context is exactly 0 by definition"}


def _source(images: str, *extra: str) -> str:
    return ", ".join([*extra, IMAGE_SOURCES.get(images, "boundary, content")])


def _marked(records: list[dict], padding_free: bool) -> list[dict]:
    """The rows with ``by_construction``: why a padding-free net's metric holds whatever the
    data (empty otherwise)."""
    return [{**r, "by_construction": BY_CONSTRUCTION.get(r["metric"], "") if padding_free else ""}
            for r in records]  # fmt: skip


def run_reference(spec: dict, image_sets: dict[str, ImageSet]) -> pd.DataFrame:
    """Every untrained reference network on the image sets: per seed, the position-free
    control (each image set), its dose-response calibration (``spec['doses']``
    injected at ``spec['inject_layer']``, on the first image set) and the CoordConv
    net (first image set). One row per network x image set x seed x dose x metric."""
    width, layers = int(spec["width"]), list(ProbeNet.LAYERS)
    first = next(iter(image_sets))
    rows = []

    def add(records, **ids):
        rows.extend({**ids, **r} for r in records)

    for seed in spec["seeds"]:
        control = {}
        for name, images in image_sets.items():
            net = probe_net(seed, width, images)
            control[name] = _marked(measure_metrics(net, layers, images, spec, seed), padding_free=True)
            add(control[name], family="control", network="position_free_control", images=name,
                truth="absent", source=_source(name), seed=seed, dose=0.0)
        images = image_sets[first]
        net = probe_net(seed, width, images)
        unit, size = feature_unit(net, spec["inject_layer"], images.test)
        inject_position(net, spec["inject_layer"], 0.0, unit, size, spec.get("decay", 2.0))
        for dose in spec["doses"]:
            # dose 0 IS the control (same seed, images and BatchNorm statistics; tested):
            # its rows are reused instead of computed twice
            set_dose(net, dose)
            records = control[first] if dose == 0 else _marked(
                measure_metrics(net, layers, images, spec, seed), padding_free=False)
            add(records, family="calibration", network="calibration", images=first,
                truth=f"dose {dose:g}", source=_source(first, *(["injected"] if dose else [])),
                seed=seed, dose=float(dose))  # fmt: skip
        net = probe_net(seed, width, images, coords=True)
        add(_marked(measure_metrics(net, layers, images, spec, seed), padding_free=False), family="coordconv",
            network="coordconv", images=first, truth="absent", source=_source(first, "coordinates"),
            seed=seed, dose=float("nan"))  # fmt: skip
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- trained backbones
def run_backbones(checkpoints: Sequence[str], manifest: str, spec: dict, images: ImageSet) -> pd.DataFrame:
    """The study's backbones (``model.pt`` = trained, ``snapshot_e0.pt`` = initialisation)
    on the image set: positive controls whose position information comes from padding.
    A snapshot whose BatchNorm statistics were never estimated (epoch 0) first has them
    estimated on the study's training images (as for PPP)."""
    from padpos.stages.ppp.pattern import prepare_model
    from padpos.models import feature_layers

    rows = []
    for checkpoint in checkpoints:
        model, meta = prepare_model(checkpoint, manifest, int(spec["bn_images"]), 256)
        stage = "init" if int(meta["epoch"]) == 0 else "trained"
        seed = int(meta["seed"])
        carrier = "resize" if meta["padding"] == "none" else "padding"
        ids = dict(family="backbone", network=f"{meta['padding']}_{stage}", arch=meta["arch"],
                   padding=meta["padding"], epoch=int(meta["epoch"]), images=images.name,
                   truth="present", source=_source(images.name, carrier), seed=seed, dose=float("nan"))
        records = _marked(measure_metrics(model, feature_layers(meta["arch"]), images, spec, seed), padding_free=False)
        rows.extend({**ids, **r} for r in records)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- a study's settings
DEFAULTS = {
    "seeds": [0, 1, 2],
    "width": 8,
    "doses": [0.0, 0.03, 0.1, 0.3, 1.0, 3.0],
    "inject_layer": "block1",
    "decay": 2.0,
    "image_sets": ["photos", "biased"],
    "photos": None,
    "image_seed": 0,
    "num_train": 64,
    "num_test": 64,
    "context_px": 32,
    "bn_images": 512,
}


def spec_with_defaults(spec: dict) -> dict:
    """The ``reliability`` settings with defaults filled; an unknown key is an error naming it.
    ``posenet`` (the study's PosENet readout settings) is passed through."""
    out = with_defaults(spec, DEFAULTS, "reliability", extra=("posenet", "study", "behaviour"))
    if 0 not in [float(d) for d in out["doses"]]:
        raise ValueError("reliability.doses must include 0 (the null: the position-free control)")
    if list(out["doses"]) != sorted(out["doses"]) or min(out["doses"]) < 0:
        raise ValueError(f"reliability.doses must be ascending and >= 0, got {out['doses']}")
    if out["inject_layer"] not in ProbeNet.LAYERS:
        raise ValueError(f"reliability.inject_layer {out['inject_layer']!r}; allowed: {list(ProbeNet.LAYERS)}")
    from padpos.stages.posenet.readout import DEFAULTS as POSENET_DEFAULTS

    from padpos.stages.reliability.behaviour import behaviour_spec

    out["posenet"] = {**POSENET_DEFAULTS, **out.get("posenet", {})}
    out["behaviour"] = behaviour_spec(out.get("behaviour", {}))
    return out


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


# ---------------------------------------------------------------- jobs
RUN_COLUMNS = ("study", "family", "network", "arch", "padding", "epoch", "images", "truth", "source",
               "seed", "dose", "metric", "value", "detects", "by_construction", "layer")  # fmt: skip


def _write_rows(rows: pd.DataFrame, study: str, output, spec: dict, started: float, **facts) -> None:
    from padpos import runtime

    rows = rows.assign(study=study)
    for col in RUN_COLUMNS:
        if col not in rows:
            rows[col] = None  # the reference nets have no arch / padding / epoch
    runtime.write_result(rows[list(RUN_COLUMNS)], output, spec, started, "cpu", **facts)


def run_reference_job(spec: dict, manifest, output) -> None:
    """The control (every image set), its calibration and the CoordConv net, every seed:
    writes the per-run rows to ``output`` (CSV) and the provenance beside it. On the
    CPU: the nets are tiny, and PPP of a padding-free net must be exact."""
    import time

    started = time.time()
    spec = spec_with_defaults(spec)
    sets = study_image_sets(spec, manifest)
    rows = run_reference(spec, sets)
    _write_rows(rows, spec.get("study", ""), output, spec, started, data_manifest=str(manifest),
                image_sets={k: [len(v.train), len(v.test), v.margin] for k, v in sets.items()})  # fmt: skip


def run_backbones_job(checkpoints: Sequence[str], manifest, spec: dict, output) -> None:
    """The study's backbones (``checkpoints``) on the first image set: writes the per-run
    rows to ``output`` (CSV) and the provenance beside it (CPU)."""
    import time

    started = time.time()
    spec = spec_with_defaults(spec)
    first = spec["image_sets"][0]
    images = study_image_sets(spec, manifest, [first])[first]
    rows = run_backbones(checkpoints, manifest, spec, images)
    _write_rows(rows, spec.get("study", ""), output, spec, started, data_manifest=str(manifest),
                checkpoints=[str(c) for c in checkpoints])  # fmt: skip
