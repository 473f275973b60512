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

This module holds the constants and the metric adapters; the networks are in
``networks.py``, the image sets in ``images.py``, the runs, settings and job writers in
``runs.py`` (the behavioural comparison: ``boxes.py``, ``boxnets.py``, ``behaviour.py``,
``comparison.py``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch
from torch import nn

from padpos.names import RELIABILITY_METRICS
from padpos.optim import fit_logistic

if TYPE_CHECKING:
    from padpos.stages.reliability.images import ImageSet

# ---------------------------------------------------------------- constants
SMOOTH_TARGETS = ("H", "V", "G")  # the PosENet targets read here (HS / VS need deep features)
METRICS = RELIABILITY_METRICS  # ppp_snr_db, ppp_consistency, posenet_spc_H/V/G, location_accuracy
# the metric each family of figures shows first, one per method
HEADLINE: tuple[str, ...] = ("ppp_snr_db", "posenet_spc_V", "location_accuracy")
NULL_VALUE = {"ppp_snr_db": -math.inf, "ppp_consistency": 0.0, "location_accuracy": 50.0,
              **{f"posenet_spc_{t}": 0.0 for t in SMOOTH_TARGETS}}  # fmt: skip

# Detection rules (project choices, docs/reliability.md):
# PPP: a pattern whose amplitude is above 0.1 % of the image-feature std (-60 dB, far
#   above the float32 floor of a padding-free net, ~ -140 dB) AND above its finite-
#   sample floor (consistency > 4 / N: an image-dependent disturbance gives ~1 / N);
# PosENet: mean per-image SPC > 0, one-sided t-test over the test images, p < ALPHA;
# location test: accuracy > 50 %, one-sided binomial test over the test canvases, p < ALPHA.
PPP_MIN_SNR_DB = -60.0
PPP_CONSISTENCY_FLOORS = 4.0
ALPHA = 0.01



# ---------------------------------------------------------------- the three metrics
def deepest(layers: Sequence[str]) -> str:
    return list(layers)[-1]


def ppp_of(model: nn.Module, layers: Sequence[str], images: ImageSet, batch_size: int = 64) -> dict:
    """PPP metrics of every layer on the image set's real-context crops (with as much
    context as the image set has, at least what the receptive fields need):
    ``{layer: {ppp_snr_db, ppp_consistency, ppp_reach_px}}``, plus ``'_n'``, the images."""
    from padpos.features import context_margin, feature_sizes, layer_geometry
    from padpos.probes.pattern import accumulate_ppp, layer_metrics

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
    training crops, scored on the held-out crops: per target in ``SMOOTH_TARGETS``
    (mean SPC, one-sided t-test p-value of the per-image SPC > 0)."""
    from scipy import stats as st

    from padpos.probes import readout as pn

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
    for target in SMOOTH_TARGETS:
        values = spc[:, pn.TARGETS.index(target)]
        if np.allclose(values, values[0]):
            p = 0.0 if values[0] > 0 else 1.0
        else:
            p = float(st.ttest_1samp(values, 0.0, alternative="greater").pvalue)
        out[target] = (float(values.mean()), p)
    return out


def location_of(model: nn.Module, layer: str, images: ImageSet) -> tuple[float, float]:
    """Quadrant test of the frozen network (:mod:`padpos.probes.location`): the head on the
    global-max-pooled ``layer`` features of the training crops' canvases (the offset
    rounded to CORNER_STEP px), scored on the held-out crops' canvases: (accuracy %,
    one-sided binomial p-value of accuracy > 50 %)."""
    from padpos.probes.location import corner_canvases, location_test, pooled_features

    (xtr, ytr), (xte, yte) = corner_canvases(images.train), corner_canvases(images.test)
    ftr = pooled_features(model, [layer], xtr, dtype=torch.float32)[layer]
    fte = pooled_features(model, [layer], xte, dtype=torch.float32)[layer]
    return location_test((ftr, ytr), (fte, yte))


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


