"""Throughput of the pipeline on the current device (``padpos bench``).

In one run, on synthetic data (no data set needed):

- the pipeline's training step (:func:`padpos.stages.train.training.train_one_epoch` on
  :class:`padpos.stages.train.training.TensorBatches`, with the pipeline's optimizer, scheduler,
  progress bar, shuffling and flips) versus a bare PyTorch loop (the same
  architecture with plain ``nn.Conv2d``, slices of one tensor, SGD) on the same data:
  ``pipeline_vs_bare`` = pipeline images/s / bare images/s;
- every padding scheme's training step relative to zeros: ``padding_vs_zeros``;
- optionally the ``torch.compile``-d training step relative to eager;
- PPP evaluation (feature pairs of x and its context crop x+, PatternStats) and
  PosENet evaluation (float64 multi-level features, readout, SPC/MAE) throughput.

Timings on a shared machine drift, so every configuration is timed once per repeat,
in an order rotated from repeat to repeat, and each ratio is the median over repeats
of the ratio within the repeat (both timed seconds apart, under the same load).
"""

from __future__ import annotations

import copy
import os
import statistics
import time
from contextlib import nullcontext
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from padpos import runtime
from padpos.padding import check_scheme
from padpos.stages.bench.settings import DEFAULTS

NUM_CLASSES = 10

def bench(device: str | torch.device | None = None, **settings) -> dict:
    """Run the benchmark; ``settings`` override :data:`DEFAULTS` (an unknown key is an
    error naming it). Returns a JSON-ready dict (see the module docstring)."""
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"bench: unknown setting(s) {unknown}; known: {sorted(DEFAULTS)}")
    cfg = {**DEFAULTS, **settings}
    schemes = [check_scheme(s) for s in cfg["schemes"]]
    if "zeros" not in schemes:
        schemes = ["zeros", *schemes]  # the reference of padding_vs_zeros
    for key in ("steps", "repeats", "batch_size", "eval_images", "threads"):
        if int(cfg[key]) < 1:
            raise ValueError(f"bench: {key} must be at least 1, got {cfg[key]!r}")
    device = torch.device(device) if device is not None else runtime.select_device()
    torch.set_num_threads(int(cfg["threads"]))
    amp = bool(cfg["amp"] and device.type == "cuda")

    gen = torch.Generator().manual_seed(cfg["seed"])
    n = cfg["steps"] * cfg["batch_size"]
    size = cfg["image_size"]
    X = torch.randn(n, 3, size, size, generator=gen)
    y = torch.randint(0, NUM_CLASSES, (n,), generator=gen)

    runners: dict[str, Callable[[], None]] = {"bare": _bare_runner(cfg, X, y, device, amp)}
    for scheme in schemes:
        runners[scheme] = _pipeline_runner(cfg, scheme, X, y, device, amp, compiled=False)
    compile_error = None
    if cfg["compile"]:
        try:
            runners["zeros+compile"] = _pipeline_runner(cfg, "zeros", X, y, device, amp, compiled=True)
        except Exception as err:  # noqa: BLE001 - reported, not hidden: no compiler here
            compile_error = f"{type(err).__name__}: {err}"[:500]

    times = time_interleaved(runners, cfg["repeats"], device)
    img_s = {name: n / statistics.median(ts) for name, ts in times.items()}
    result = {
        "device": runtime.device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "amp_bf16": amp,
        "channels_last": device.type == "cuda",
        "settings": {k: cfg[k] for k in DEFAULTS if k != "schemes"} | {"schemes": schemes},
        "pipeline_vs_bare": median_ratio(times["bare"], times["zeros"]),
        "pipeline_img_s": img_s["zeros"],
        "bare_img_s": img_s["bare"],
        "padding_vs_zeros": {s: median_ratio(times["zeros"], times[s]) for s in schemes},
        "padding_img_s": {s: img_s[s] for s in schemes},
    }
    if cfg["compile"]:
        result["compile_vs_eager"] = (
            median_ratio(times["zeros"], times["zeros+compile"]) if compile_error is None else None
        )
        result["compile_error"] = compile_error
    result["ppp_img_s"] = ppp_throughput(cfg, device)
    result["posenet_img_s"] = posenet_throughput(cfg, device)
    result["method"] = (
        f"{cfg['repeats']} interleaved repeats of {cfg['steps']} steps x {cfg['batch_size']} "
        f"images per configuration after one warm-up, timed in {clock_name(device)}; "
        "ratios are medians of per-repeat ratios, images/s from median times"
    )
    return result


def median_ratio(reference: Sequence[float], other: Sequence[float]) -> float:
    """Median over repeats of reference_time / other_time (> 1: ``other`` is faster)."""
    return float(statistics.median(r / o for r, o in zip(reference, other)))


def time_interleaved(
    runners: dict[str, Callable[[], None]], repeats: int, device: torch.device
) -> dict[str, list[float]]:
    """Seconds per call of every runner: one warm-up call each, then ``repeats`` rounds
    in which every runner runs once, the order rotated by one each round.

    On the CPU the clock is the process's CPU time (``time.process_time``): on a
    machine shared with other jobs, wall time counts the waits for a core; CPU time
    counts the work (what a dedicated core would take). On a GPU it is wall time,
    with the device synchronised before and after each call."""
    clock = _clock(device)
    names = list(runners)
    for name in names:
        runners[name]()
    _sync(device)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            _sync(device)
            t0 = clock()
            runners[name]()
            _sync(device)
            times[name].append(clock() - t0)
    return times


def _clock(device: torch.device) -> Callable[[], float]:
    return time.perf_counter if device.type == "cuda" else time.process_time


def clock_name(device: torch.device) -> str:
    return "wall time" if device.type == "cuda" else "process CPU time"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------- training steps
def bare_model(arch: str, width: int) -> nn.Module:
    """``arch`` as plain PyTorch: the registered builder's zero-padded net, left
    unconverted (nn.Conv2d with its own padding), i.e. what ``build_model`` converts."""
    from padpos.models import MODELS

    if arch not in MODELS:
        raise ValueError(f"unknown arch {arch!r}; allowed: {', '.join(MODELS)}")
    return MODELS[arch].builder(NUM_CLASSES, width=width)


def _optimizer(model: nn.Module) -> torch.optim.Optimizer:
    # the pipeline's optimizer (train.train_model) with its default settings
    return torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)


def _prepare(model: nn.Module, device: torch.device) -> nn.Module:
    model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    return model.train()


def _bare_runner(cfg, X, y, device, amp) -> Callable[[], None]:
    """A bare loop: slices of tensors already on the device, forward, backward, step."""
    torch.manual_seed(cfg["seed"])
    model = _prepare(bare_model(cfg["arch"], cfg["width"]), device)
    optimizer = _optimizer(model)
    X, y = X.to(device), y.to(device)
    if device.type == "cuda":
        X = X.contiguous(memory_format=torch.channels_last)
    bs = cfg["batch_size"]
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16) if amp else nullcontext()
    )

    def run() -> None:
        for i in range(0, len(y), bs):
            with autocast:
                loss = F.cross_entropy(model(X[i : i + bs]), y[i : i + bs])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return run


def _pipeline_runner(cfg, scheme, X, y, device, amp, compiled: bool) -> Callable[[], None]:
    """One epoch of the pipeline's own training step over the same images."""
    from tqdm import tqdm

    from padpos.models import build_model
    from padpos.stages.train.training import TensorBatches, compile_model, train_one_epoch

    torch.manual_seed(cfg["seed"])
    model = _prepare(build_model(cfg["arch"], scheme, NUM_CLASSES, width=cfg["width"]), device)
    step_model = compile_model(model) if compiled else model
    optimizer = _optimizer(model)
    batches = TensorBatches(
        X, y, cfg["batch_size"], device, shuffle=True, augment=True,
        generator=torch.Generator().manual_seed(cfg["seed"]),
    )
    # a long schedule: the learning rate stays in its warm-up over the whole benchmark
    total = 1000 * len(batches) * (cfg["repeats"] + 2)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=total)
    sink = open(os.devnull, "w")  # the progress bar is drawn, as in a job, but not shown
    progress = tqdm(total=total, file=sink, unit="batch")

    def run() -> None:
        train_one_epoch(step_model, batches, optimizer, scheduler, device, amp, progress)

    if compiled:
        run()  # compile now: an error (no C++ compiler, unsupported op) surfaces here
    return run


# ---------------------------------------------------------------- evaluation
def _eval_model(cfg, device) -> nn.Module:
    from padpos.models import build_model

    torch.manual_seed(cfg["seed"])
    return build_model(cfg["arch"], "zeros", NUM_CLASSES, width=cfg["width"]).to(device).eval()


def _median_rate(run: Callable[[], None], images: int, repeats: int, device) -> float:
    clock = _clock(device)
    run()  # warm-up
    times = []
    for _ in range(repeats):
        _sync(device)
        t0 = clock()
        run()
        _sync(device)
        times.append(clock() - t0)
    return images / statistics.median(times)


def ppp_throughput(cfg: dict, device: torch.device) -> float:
    """Images/s of the PPP measurement: features of x and of its context crop x+
    (larger by the margin every layer needs), accumulated into PatternStats."""
    from padpos.features import context_margin, feature_sizes, layer_geometry
    from padpos.probes.pattern import accumulate_ppp
    from padpos.models import feature_layers

    model = _eval_model(cfg, device)
    layers = feature_layers(model)
    size = cfg["image_size"]
    geometry = layer_geometry(model, layers)
    margin = context_margin(geometry, size, feature_sizes(model, layers, size))
    strides = {name: g.stride for name, g in geometry.items()}
    gen = torch.Generator().manual_seed(cfg["seed"])
    n, bs = cfg["eval_images"], cfg["batch_size"]
    x_plus = torch.randn(n, 3, size + 2 * margin, size + 2 * margin, generator=gen)
    x = x_plus[..., margin : margin + size, margin : margin + size].contiguous()
    batches = [(x[i : i + bs], x_plus[i : i + bs]) for i in range(0, n, bs)]
    return _median_rate(
        lambda: accumulate_ppp(model, batches, layers, margin, strides), n, cfg["repeats"], device
    )


def posenet_throughput(cfg: dict, device: torch.device) -> float:
    """Images/s of PosENet evaluation on a frozen backbone: float64 multi-level
    features resized to the grid, the readout's prediction and its SPC / MAE scores."""
    from padpos.probes import readout as posenet
    from padpos.models import feature_layers

    model = _eval_model(cfg, device)
    layers = feature_layers(model)
    size = cfg["image_size"]
    grid = posenet.grid_size(size, posenet.DEFAULTS["grid"], posenet.DEFAULTS["grid_floor"])
    featurize = posenet.backbone_featurizer(copy.deepcopy(model), layers, grid)
    gen = torch.Generator().manual_seed(cfg["seed"])
    images = torch.randn(cfg["eval_images"], 3, size, size, generator=gen)
    channels = featurize(images[:2]).shape[1]
    targets = posenet.position_targets(size, size, posenet.DEFAULTS["stripe_periods"]).to(device)
    torch.manual_seed(cfg["seed"])
    readout = posenet.PosENet(channels, 0, targets.shape[0]).to(device).eval()

    def run() -> None:
        pred = posenet.predict(readout, featurize(images.double()), (size, size))
        posenet.score_maps(pred, targets.double())

    return _median_rate(run, len(images), cfg["repeats"], device)


# ---------------------------------------------------------------- report
def format_result(result: dict) -> str:
    """A short human-readable summary of :func:`bench`'s result."""
    lines = [
        f"device {result['device']}, torch {result['torch']}, {result['threads']} thread(s), "
        f"bf16 autocast {'on' if result['amp_bf16'] else 'off'}",
        f"training step: pipeline {result['pipeline_img_s']:.0f} img/s, bare loop "
        f"{result['bare_img_s']:.0f} img/s, pipeline/bare {result['pipeline_vs_bare']:.3f}",
        "padding scheme vs zeros: "
        + ", ".join(f"{s} {v:.3f}" for s, v in result["padding_vs_zeros"].items()),
    ]
    if "compile_vs_eager" in result:
        lines.append(
            f"torch.compile vs eager: {result['compile_vs_eager']:.3f}"
            if result["compile_error"] is None
            else f"torch.compile failed: {result['compile_error']}"
        )
    lines.append(f"PPP {result['ppp_img_s']:.0f} img/s, PosENet eval {result['posenet_img_s']:.0f} img/s")
    lines.append(result["method"])
    return "\n".join(lines)
