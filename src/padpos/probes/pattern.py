"""PPP: the position-information pattern that padding injects into features.

This is the project's implementation of the concept of Lin et al. 2023 ("Unveiling
the mask of position-information pattern through the mist of image features");
the formulas are the project's definitions (docs/protocols.md section 2), not
quotations of the paper. For a layer l, crops x and their real-context
references f_l*(x) (see :mod:`padpos.features`):

    Delta_l(x) = f_l(x) - f_l*(x)          the border's contribution for one image
    PPP_l      = E_x[Delta_l(x)]           C x h x w, the part shared by all images
    ppp_snr_db      = 10 log10( mean(PPP^2) / mean(Var_x[f*]) )
    ppp_consistency = mean(PPP^2) / E_x[mean(Delta^2)]     in [0, 1]
    ppp_reach_px    = width (input px) of the border band outside which the
                      channel-RMS of PPP stays below 10 % of its maximum
    heat map        = channel-RMS of PPP, h x w

Everything is accumulated in float64 running sums over batches, so no feature
map of more than one batch is ever held. The ``ppp`` command computes on a CUDA
GPU when one is present (``padpos.runtime.select_device``), sums included, with
TF32 off so that float32 features are as exact as on the CPU.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

REACH_FRACTION = 0.10  # "below 10 % of its maximum" (docs/protocols.md section 2)


@dataclass
class PatternStats:
    """Running float64 sums of Delta, Delta^2, f*, f*^2 per (channel, position)."""

    n: int = 0
    sum_delta: Tensor | None = None
    sum_delta_sq: Tensor | None = None
    sum_ref: Tensor | None = None
    sum_ref_sq: Tensor | None = None
    shape: tuple = field(default=())

    def update(self, f: Tensor, f_ref: Tensor) -> None:
        """Add a batch of features f = f_l(x) and references f_ref = f_l*(x) (N x C x h x w)."""
        if f.shape != f_ref.shape:
            raise ValueError(f"features {tuple(f.shape)} and reference {tuple(f_ref.shape)} differ")
        if self.n and tuple(f.shape[1:]) != self.shape:
            raise ValueError(f"batch of shape {tuple(f.shape[1:])}, earlier {self.shape}")
        delta = f.double() - f_ref.double()
        ref = f_ref.double()
        sums = (delta.sum(0), (delta**2).sum(0), ref.sum(0), (ref**2).sum(0))
        if not self.n:
            self.shape = tuple(f.shape[1:])
            self.sum_delta, self.sum_delta_sq, self.sum_ref, self.sum_ref_sq = sums
        else:
            self.sum_delta += sums[0]
            self.sum_delta_sq += sums[1]
            self.sum_ref += sums[2]
            self.sum_ref_sq += sums[3]
        self.n += f.shape[0]

    def _require_data(self) -> None:
        if not self.n:
            raise ValueError("no features accumulated yet")

    def pattern(self) -> Tensor:
        """PPP_l = E_x[Delta_l(x)], C x h x w (float64)."""
        self._require_data()
        return self.sum_delta / self.n

    def heat_map(self) -> Tensor:
        """Channel-RMS of PPP_l: an h x w map (float64)."""
        return self.pattern().pow(2).mean(0).sqrt()

    def pattern_energy(self) -> float:
        """mean(PPP_l^2) over channels and positions."""
        return float(self.pattern().pow(2).mean())

    def disturbance_energy(self) -> float:
        """E_x[mean(Delta_l(x)^2)]: the border's whole contribution, consistent or not."""
        self._require_data()
        return float((self.sum_delta_sq / self.n).mean())

    def feature_variance(self) -> float:
        """mean over channels and positions of Var_x[f_l*(x)] (population variance)."""
        self._require_data()
        mean = self.sum_ref / self.n
        var = (self.sum_ref_sq / self.n - mean**2).clamp_min(0.0)
        return float(var.mean())


def snr_db(stats: PatternStats) -> float:
    """10 log10(pattern energy / image-feature variance); -inf for no pattern at all."""
    energy, variance = stats.pattern_energy(), stats.feature_variance()
    if energy == 0.0:
        return -math.inf
    if variance == 0.0:
        return math.inf
    return 10.0 * math.log10(energy / variance)


def consistency(stats: PatternStats) -> float:
    """Share of the border's disturbance that is the same for every image, in [0, 1].

    With no disturbance at all (Delta == 0 everywhere) there is no pattern: 0.
    Note the finite-sample floor: a purely image-dependent disturbance still gives
    about 1 / n, because the mean of n noisy maps is not exactly 0.
    """
    disturbance = stats.disturbance_energy()
    if disturbance == 0.0:
        return 0.0
    return min(1.0, stats.pattern_energy() / disturbance)


def ring_index(h: int, w: int) -> Tensor:
    """Ring index of every feature position: 0 on the outer row/column, 1 next, ..."""
    rows = torch.arange(h).view(-1, 1)
    cols = torch.arange(w).view(1, -1)
    return torch.minimum(
        torch.minimum(rows, h - 1 - rows), torch.minimum(cols, w - 1 - cols)
    )


def reach_px(heat: Tensor, stride: int, fraction: float = REACH_FRACTION) -> float:
    """Width in input pixels of the border band outside which ``heat`` < fraction * max.

    Convention: feature position (i, j) covers ``stride`` input pixels, so ring k
    (k positions in from the nearest border) spans input pixels [k s, (k + 1) s)
    from the border. The reach is (K + 1) s for the innermost ring K that still has
    a value >= fraction * max; 0 when the map is all zero. A pattern that fills the
    whole map reaches the centre: (number of rings) * s.
    """
    peak = float(heat.max())
    if peak <= 0.0:
        return 0.0
    rings = ring_index(*heat.shape).to(heat.device)
    strong = rings[heat >= fraction * peak]
    return float((int(strong.max()) + 1) * stride)


def layer_metrics(stats: PatternStats, stride: int) -> dict[str, float]:
    """The three scalar PPP metrics of one layer."""
    return {
        "ppp_snr_db": snr_db(stats),
        "ppp_consistency": consistency(stats),
        "ppp_reach_px": reach_px(stats.heat_map(), stride),
    }


def accumulate_ppp(model, batches, layers, margin, strides, progress=None) -> dict[str, PatternStats]:
    """Stream (x, x_plus) batches through ``model`` and accumulate PatternStats per layer
    (on the model's device: each batch is moved there, the sums stay there)."""
    from padpos.features import feature_pairs

    device = next(model.parameters()).device
    stats = {name: PatternStats() for name in layers}
    for x, x_plus in batches:
        pairs = feature_pairs(model, x.to(device), x_plus.to(device), layers, margin, strides)
        for name, (f, f_ref) in pairs.items():
            stats[name].update(f, f_ref)
        if progress is not None:
            progress.update(x.shape[0])
    return stats


# ---------------------------------------------------------------- one checkpoint
# one fixed random subset per split (docs/protocols.md 7): never the first N images
SUBSET_STREAMS = {"train": 21, "test": 22}


def image_subset(manifest, split: str, wanted: int) -> list[int]:
    """Indices of a seeded random subset of ``wanted`` images of ``split`` (all of them
    if it has fewer), sorted. Not the first N: an ImageFolder split is sorted by class,
    and one class would lower the feature variance and inflate the SNR. The subset
    depends on the data seed only, so every checkpoint compared sees the same images."""
    from padpos.data import random_subset, read_manifest

    info = read_manifest(manifest)
    available = int(info["splits"][split]["size"])
    if wanted > available:
        print(f"ppp: the {split} split has only {available} images (< {wanted}); using all",
              file=sys.stderr)
    chosen = random_subset(available, wanted, int(info.get("seed", 0)), SUBSET_STREAMS[split])
    return chosen.tolist()


def _subset_images(manifest, split: str, count: int) -> Tensor:
    """The :func:`image_subset` images, normalised (any storage, read item by item)."""
    from padpos.data import load_split

    ds = load_split(manifest, split)
    return torch.stack([ds[i][0] for i in image_subset(manifest, split, count)])


def prepare_model(checkpoint, manifest, bn_images: int, batch_size: int, device="cpu"):
    """Load a checkpoint onto ``device`` in eval mode, its BatchNorm statistics estimated
    afresh (on that device) on the same ``bn_images`` training images, whatever its epoch.

    One method at every epoch: an untrained net (epoch 0) has no statistics of its own
    (the initial 0 mean / unit variance would leave deep features unnormalised), and a
    trained one's running averages lag behind its last weights; estimating both the same
    way keeps the PPP-formation curve free of a change of method between epoch 0 and 1
    (docs/protocols.md section 2)."""
    from padpos.models import load_checkpoint
    from padpos.runtime import recalibrate_batchnorm

    model, meta = load_checkpoint(checkpoint, map_location="cpu")
    model.to(device)
    images = _subset_images(manifest, "train", bn_images)
    return recalibrate_batchnorm(model, images, batch_size=batch_size).eval(), meta


def measure_checkpoint(checkpoint, manifest, spec: dict, device="cpu", crops_cache=None):
    """PPP of every feature layer of one checkpoint on ``num_images`` held-out images
    (:func:`image_subset`: the same images for every checkpoint, so epochs and schemes
    are paired), computed on ``device``. ``crops_cache`` (a dict) keeps the context crops
    of a margin across calls: the checkpoints of one run share them (rendered once per job).

    Returns (meta, stats per layer, geometry per layer, margin in px)."""
    from tqdm import tqdm

    from padpos.data import context_crops
    from padpos.features import context_margin, feature_sizes, layer_geometry
    from padpos.models import feature_layers

    model, meta = prepare_model(checkpoint, manifest, spec["bn_images"], spec["batch_size"], device)
    layers = feature_layers(meta["arch"])
    size = int(meta["image_size"])
    geometry = layer_geometry(model, layers)
    margin = context_margin(geometry, size, feature_sizes(model, layers, size))
    strides = {name: g.stride for name, g in geometry.items()}
    chosen = image_subset(manifest, "test", spec["num_images"])
    n_images = len(chosen)

    def batches():
        key = (str(manifest), margin, n_images, spec["batch_size"])
        if crops_cache is not None and key in crops_cache:
            yield from crops_cache[key]
            return
        made = []
        for start in range(0, n_images, spec["batch_size"]):
            made.append(
                context_crops(manifest, "test", chosen[start : start + spec["batch_size"]], margin)
            )
            yield made[-1]
        if crops_cache is not None:
            crops_cache[key] = made

    with tqdm(total=n_images, desc=f"ppp {checkpoint}", file=sys.stderr) as bar:
        stats = accumulate_ppp(model, batches(), layers, margin, strides, progress=bar)
    return meta, stats, geometry, margin


def result_rows(study: str, meta: dict, stats: dict, geometry: dict, flags: dict | None = None) -> list[dict]:
    """Long-format rows: study, arch, padding, seed, epoch, layer, metric, value and the
    run's training flags ``failed`` / ``converged`` (:func:`padpos.models.training_flags`:
    the trained model's, repeated on every epoch of the run)."""
    flags = {"failed": False, "converged": True, **(flags or {})}
    rows = []
    for layer, st in stats.items():
        for metric, value in layer_metrics(st, geometry[layer].stride).items():
            rows.append(
                {
                    "study": study,
                    "arch": meta["arch"],
                    "padding": meta["padding"],
                    "seed": int(meta["seed"]),
                    "epoch": int(meta["epoch"]),
                    "layer": layer,
                    "metric": metric,
                    "value": value,
                    "failed": bool(flags["failed"]),
                    "converged": bool(flags["converged"]),
                }
            )
    return rows


def heat_map_arrays(meta: dict, stats: dict, geometry: dict, margin: int, device: str = "cpu") -> dict:
    """Arrays for the .npz: the run's identity, the device it was computed on, and per
    layer (index i in ``layers``) the heat map, the image-feature std (its natural
    scale), stride and receptive-field radius."""
    out = {key: np.array(meta[key]) for key in ("arch", "padding", "seed", "epoch")}
    out.update(layers=np.array(list(stats)), margin_px=np.array(margin),
               num_images=np.array(next(iter(stats.values())).n), device=np.array(str(device)))
    for i, (layer, st) in enumerate(stats.items()):
        out[f"heat_{i}"] = st.heat_map().cpu().numpy()
        out[f"feature_std_{i}"] = np.array(math.sqrt(st.feature_variance()))
        out[f"stride_{i}"] = np.array(geometry[layer].stride)
        out[f"rf_radius_{i}"] = np.array(geometry[layer].rf_radius)
    return out


SPEC_KEYS = ("study", "num_images", "bn_images", "batch_size")


def check_spec(spec: dict) -> dict:
    """``spec`` if it has every key of :data:`SPEC_KEYS` with positive integer sizes;
    a ValueError naming the bad key otherwise."""
    missing = [k for k in SPEC_KEYS if k not in spec]
    if missing:
        raise ValueError(f"ppp: spec lacks key(s) {missing}; needs {list(SPEC_KEYS)}")
    for key in SPEC_KEYS[1:]:
        if not isinstance(spec[key], int) or spec[key] < 1:
            raise ValueError(f"ppp: spec key {key!r} must be a positive integer, got {spec[key]!r}")
    return spec


def run_ppp_checkpoints(checkpoints, manifest, spec: dict, outputs_csv, outputs_npz) -> None:
    """PPP of several checkpoints of one run (its snapshot epochs) in one process: the
    i-th checkpoint's results go to the i-th CSV / npz, exactly as :func:`run_checkpoint` would
    write them; the held-out context crops are rendered once and shared."""
    if not (len(checkpoints) == len(outputs_csv) == len(outputs_npz)) or not checkpoints:
        raise ValueError(
            f"ppp: {len(checkpoints)} checkpoints need as many output CSVs and npz files, "
            f"got {len(outputs_csv)} and {len(outputs_npz)}"
        )
    cache: dict = {}
    flags = run_flags(checkpoints)
    for checkpoint, csv, npz in zip(checkpoints, outputs_csv, outputs_npz):
        run_checkpoint(checkpoint, manifest, spec, csv, npz, crops_cache=cache, flags=flags)


def run_flags(checkpoints) -> dict[str, bool]:
    """The training flags (``failed``, ``converged``) of the run these checkpoints belong
    to: training stores them in the final model's meta (snapshots of earlier epochs carry
    none)."""
    from padpos.io import load_torch
    from padpos.models import training_flags

    # the meta only: no model is built (measure_checkpoint builds each one once)
    metas = [load_torch(c, "checkpoint", map_location="cpu", weights_only=False).get("meta", {})
             for c in checkpoints]  # fmt: skip
    return training_flags(metas, checkpoints)


def run_checkpoint(
    checkpoint, manifest, spec: dict, output_csv, output_npz, crops_cache=None, flags=None
) -> None:
    """PPP of one checkpoint: writes the long-format rows to ``output_csv``, the heat
    maps to ``output_npz`` and the provenance beside the CSV. On a CUDA GPU when one is
    present, with TF32 off (:func:`padpos.runtime.ieee_float32`)."""
    import time

    import pandas as pd

    from padpos import runtime
    from padpos.io import atomic_path, write_csv

    started = time.time()
    spec = check_spec(spec)
    device = runtime.select_device()
    runtime.ieee_float32(device)
    meta, stats, geometry, margin = measure_checkpoint(checkpoint, manifest, spec, device, crops_cache)
    n_images = next(iter(stats.values())).n
    print(f"ppp: {checkpoint} on {device}: margin {margin} px, {n_images} images, "
          + ", ".join(f"{k}: s={g.stride} rf={g.rf_radius}" for k, g in geometry.items()),
          file=sys.stderr)  # fmt: skip
    if flags is None:  # a checkpoint measured on its own: its own meta's flags
        from padpos.models import training_flags

        flags = training_flags([meta], [checkpoint])
    rows = result_rows(spec["study"], meta, stats, geometry, flags)
    write_csv(output_csv, pd.DataFrame(rows))
    with atomic_path(output_npz) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **heat_map_arrays(meta, stats, geometry, margin, str(device)))
    prov = runtime.provenance(spec, started, device, checkpoint=str(checkpoint),
                              data_manifest=str(manifest), margin_px=margin, num_images=n_images)  # fmt: skip
    runtime.write_provenance(runtime.provenance_path(output_csv), prov)
