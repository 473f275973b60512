"""Backbones built from names (a registry: ``@register_model``, ``build_model``), with any padding scheme.

Every architecture is built with PyTorch's default (zero) padding and then
converted by :func:`padpos.padding.convert_padding`, so that one mechanism sets
the scheme for torchvision's models and for this project's small CPU-sized nets
alike (as timm builds its convs through a padding helper).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import nn

from padpos.names import ARCHS, RESIDUAL_ARCHS, TORCHVISION_ARCHS  # noqa: F401  (ARCHS re-exported)
from padpos.padding import convert_padding


# ---------------------------------------------------------------- small nets
class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a shortcut (the attribute names of torchvision's
    BasicBlock, so padding conversion treats both the same way)."""

    expansion = 1

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class SmallResNet(nn.Module):
    """A narrow ResNet for 32-64 px images: 3x3 stem (stride 1), four stages
    ``layer1..layer4`` (widths w, 2w, 4w, 8w; strides 1, 2, 2, 2), global average
    pooling and a linear head. ``blocks=(2, 2, 2, 2)`` gives the ResNet-18 layout."""

    def __init__(
        self,
        num_classes: int,
        width: int = 16,
        blocks: Sequence[int] = (1, 1, 1, 1),
        in_channels: int = 3,
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        chans, in_ch = [width, 2 * width, 4 * width, 8 * width], width
        for i, (ch, n) in enumerate(zip(chans, blocks)):
            stride = 1 if i == 0 else 2
            layer = []
            for j in range(n):
                layer.append(BasicBlock(in_ch, ch, stride if j == 0 else 1))
                in_ch = ch
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class SmallVGG(nn.Module):
    """A plain VGG-style net: five stages of conv-BN-ReLU (widths w, 2w, 4w, 8w, 8w),
    2x2 max pooling between stages, global average pooling and a linear head.
    Laid out like torchvision's VGG (``features`` / ``classifier``) so that the
    same feature-tap rule finds the end of each stage."""

    def __init__(
        self,
        num_classes: int,
        width: int = 16,
        convs_per_stage: int = 1,
        in_channels: int = 3,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = in_channels
        chans = [width, 2 * width, 4 * width, 8 * width, 8 * width]
        for stage, ch in enumerate(chans):
            for _ in range(convs_per_stage):
                layers += [nn.Conv2d(in_ch, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch)]
                layers.append(nn.ReLU(inplace=True))
                in_ch = ch
            if stage < len(chans) - 1:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(in_ch, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class SmallPlain(nn.Module):
    """A plain conv net without shortcuts: a 3x3 stem and four stages ``layer1..layer4``
    of one 3x3 conv-BN-ReLU each (widths w, 2w, 4w, 8w; strides 1, 2, 2, 1), global average
    pooling and a linear head. It is the padding-free arm of the backbone experiments:
    with ``valid`` convs (no padding, no resize) a 32 px input still leaves a 4 x 4 map
    (32 -> 30 -> 28 -> 13 -> 6 -> 4), where a ResNet's additions could not be kept aligned;
    with any same-size scheme it is an ordinary plain net (32 -> 32 -> 16 -> 8 -> 8)."""

    def __init__(self, num_classes: int, width: int = 16, in_channels: int = 3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU(inplace=True))  # fmt: skip
        chans, in_ch = [width, 2 * width, 4 * width, 8 * width], width
        for i, (ch, stride) in enumerate(zip(chans, (1, 2, 2, 1))):
            setattr(self, f"layer{i + 1}", nn.Sequential(
                nn.Conv2d(in_ch, ch, 3, stride, 1, bias=False), nn.BatchNorm2d(ch), nn.ReLU(inplace=True)))  # fmt: skip
            in_ch = ch
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_ch, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# ---------------------------------------------------------------- registry
@dataclass(frozen=True)
class ModelEntry:
    """A registered architecture: ``builder(num_classes, width=..., **arch_kwargs)``
    returns the zero-padded net; ``residual`` says whether it adds shortcuts (then
    'valid' cannot be used); ``feature_layers`` are its multi-level taps, shallow to
    deep: a tuple of module names, or a function of a built model that finds them."""

    name: str
    builder: Callable[..., nn.Module]
    residual: bool
    feature_layers: tuple[str, ...] | Callable[[nn.Module], list[str]]


MODELS: dict[str, ModelEntry] = {}


def register_model(name: str, *, residual: bool, feature_layers):
    """Decorator registering ``builder`` as the architecture ``name`` (see :class:`ModelEntry`).
    The name must also be listed in :data:`padpos.names.ARCHS` (config schema, plots)."""

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in MODELS:
            raise ValueError(f"model {name!r} is registered twice")
        taps = feature_layers if callable(feature_layers) else tuple(feature_layers)
        MODELS[name] = ModelEntry(name, builder, bool(residual), taps)
        return builder

    return decorate


def _entry(arch: str) -> ModelEntry:
    if arch not in MODELS:
        raise ValueError(f"unknown arch {arch!r}; allowed: {', '.join(MODELS)}")
    return MODELS[arch]


RESNET_TAPS = ("layer1", "layer2", "layer3", "layer4")


def vgg_stage_ends(model: nn.Module) -> list[str]:
    """The ReLU at the end of each stage of a VGG-style ``model.features``: the ReLU
    right before each max-pooling layer, and the last ReLU."""
    names, last_relu = [], None
    for name, module in model.features.named_children():
        if isinstance(module, nn.ReLU):
            last_relu = name
        elif isinstance(module, nn.MaxPool2d) and last_relu is not None:
            names.append(f"features.{last_relu}")
    if f"features.{last_relu}" not in names:  # small nets end on a ReLU, torchvision's on a pool
        names.append(f"features.{last_relu}")
    return names


@register_model("small_resnet", residual=True, feature_layers=RESNET_TAPS)
def small_resnet(num_classes: int, width: int = 16, **arch_kwargs) -> nn.Module:
    return SmallResNet(num_classes, width=width, **arch_kwargs)


@register_model("small_vgg", residual=False, feature_layers=vgg_stage_ends)
def small_vgg(num_classes: int, width: int = 16, **arch_kwargs) -> nn.Module:
    return SmallVGG(num_classes, width=width, **arch_kwargs)


@register_model("small_plain", residual=False, feature_layers=RESNET_TAPS)
def small_plain(num_classes: int, width: int = 16, **arch_kwargs) -> nn.Module:
    return SmallPlain(num_classes, width=width, **arch_kwargs)


def _torchvision_model(arch: str, num_classes: int, width: int = 16, **_ignored) -> nn.Module:
    """torchvision's ``arch``, untrained (``width`` and arch_kwargs apply to small nets only)."""
    import torchvision

    # weights=None: every backbone is trained by the pipeline per padding x seed
    return getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)


for _arch in TORCHVISION_ARCHS:
    register_model(
        _arch,
        residual=_arch in RESIDUAL_ARCHS,
        feature_layers=RESNET_TAPS if _arch in RESIDUAL_ARCHS else vgg_stage_ends,
    )(partial(_torchvision_model, _arch))


# ---------------------------------------------------------------- factory
def build_model(
    arch: str,
    padding: str,
    num_classes: int,
    width: int = 16,
    **arch_kwargs,
) -> nn.Module:
    """Build ``arch`` with every padded conv and pooling layer using ``padding``.

    ``width`` (and ``arch_kwargs`` such as ``blocks``) apply to the small nets only.
    """
    model = _entry(arch).builder(num_classes, width=width, **arch_kwargs)
    return convert_padding(model, padding)


def is_residual(arch: str) -> bool:
    """Whether ``arch`` adds shortcuts (then 'valid' padding cannot be used with it)."""
    return _entry(arch).residual


def feature_layers(arch_or_model: str | nn.Module) -> list[str]:
    """Names of the multi-level feature taps, shallow to deep.

    ResNets: ``layer1..layer4``. VGGs: the ReLU at the end of each of the 5 stages
    (the ReLU right before each max-pooling layer, and the last ReLU). Given a built
    model, its taps are found from its structure (``layer4`` or ``features``).
    """
    if isinstance(arch_or_model, str):
        taps = _entry(arch_or_model).feature_layers
        if not callable(taps):
            return list(taps)
        return taps(build_model(arch_or_model, "zeros", num_classes=2, width=4))
    model = arch_or_model
    if hasattr(model, "layer4"):  # ResNets and the plain net
        return list(RESNET_TAPS)
    return vgg_stage_ends(model)


# ---------------------------------------------------------------- checkpoints
def checkpoint_dict(model: nn.Module, meta: dict) -> dict:
    """What a model file holds: the weights and everything needed to rebuild the model."""
    missing = [k for k in ("arch", "padding", "num_classes") if k not in meta]
    if missing:
        raise ValueError(f"checkpoint meta lacks {missing}")
    return {"meta": dict(meta), "state_dict": model.state_dict()}


class UnflaggedCheckpointWarning(UserWarning):
    """A checkpoint records no training quality flags; its rows count as not failed and
    converged."""


def training_flags(metas: Sequence[dict], checkpoints: Sequence) -> dict[str, bool]:
    """Training's quality flags for one run, from the meta of its checkpoints (the final
    ``model.pt`` carries them; epoch snapshots do not): ``failed`` (below its quality
    floor; True if any checkpoint records True) and ``converged`` (its held-out accuracy
    had reached its plateau; False if any records False). When none records the flags
    (snapshots alone, or a checkpoint made outside the pipeline) the run counts as not
    failed and converged, and a warning names the files: an unknown flag is not silently
    a pass. A checkpoint of an older pipeline that records ``failed`` only counts as
    converged."""
    import warnings

    recorded = [meta for meta in metas if "failed" in meta or "converged" in meta]
    if not recorded:
        names = ", ".join(str(c) for c in checkpoints)
        warnings.warn(
            f"no training quality flags ('failed', 'converged') in {names} (only the final "
            "model.pt of a training job records them): its rows are marked failed=False, "
            "converged=True",
            UnflaggedCheckpointWarning,
            stacklevel=2,
        )
    return {
        "failed": any(bool(meta.get("failed", False)) for meta in recorded),
        "converged": all(bool(meta.get("converged", True)) for meta in recorded),
    }


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu"):
    """Rebuild the model saved at ``path``; returns ``(model in eval mode, meta)``."""
    from padpos.io import corrupt_file, load_torch

    path = Path(path)
    ckpt = load_torch(path, "checkpoint", map_location=map_location, weights_only=False)
    if not isinstance(ckpt, dict) or not {"meta", "state_dict"} <= set(ckpt):
        raise corrupt_file(path, "checkpoint", "holds no padpos model (no 'meta' and 'state_dict')")
    meta = ckpt["meta"]
    model = build_model(
        meta["arch"],
        meta["padding"],
        meta["num_classes"],
        width=meta.get("width", 16),
        **meta.get("arch_kwargs", {}),
    )
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), meta
