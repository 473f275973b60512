"""Backbones built from names, with any padding scheme, and access to their feature maps.

Every architecture is built with PyTorch's default (zero) padding and then
converted by :func:`padpos.padding.convert_padding`, so that one mechanism sets
the scheme for torchvision's models and for this project's small CPU-sized nets
alike (as timm builds its convs through a padding helper).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from padpos.padding import convert_padding

ARCHS = ("small_resnet", "small_vgg", "resnet18", "resnet50", "vgg11_bn", "vgg16_bn")
TORCHVISION_ARCHS = ("resnet18", "resnet50", "vgg11_bn", "vgg16_bn")


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


# ---------------------------------------------------------------- factory
def _torchvision_model(arch: str, num_classes: int) -> nn.Module:
    import torchvision

    # weights=None: every backbone is trained by the pipeline per padding x seed
    return getattr(torchvision.models, arch)(weights=None, num_classes=num_classes)


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
    if arch == "small_resnet":
        model = SmallResNet(num_classes, width=width, **arch_kwargs)
    elif arch == "small_vgg":
        model = SmallVGG(num_classes, width=width, **arch_kwargs)
    elif arch in TORCHVISION_ARCHS:
        model = _torchvision_model(arch, num_classes)
    else:
        raise ValueError(f"unknown arch {arch!r}; allowed: {', '.join(ARCHS)}")
    return convert_padding(model, padding)


def feature_layers(arch_or_model: str | nn.Module) -> list[str]:
    """Names of the multi-level feature taps, shallow to deep.

    ResNets: ``layer1..layer4``. VGGs: the ReLU at the end of each of the 5 stages
    (the ReLU right before each max-pooling layer, and the last ReLU).
    """
    model = arch_or_model
    if isinstance(arch_or_model, str):
        if arch_or_model not in ARCHS:
            raise ValueError(f"unknown arch {arch_or_model!r}; allowed: {', '.join(ARCHS)}")
        if "resnet" in arch_or_model:
            return ["layer1", "layer2", "layer3", "layer4"]
        model = build_model(arch_or_model, "zeros", num_classes=2, width=4)
    if hasattr(model, "layer4"):
        return ["layer1", "layer2", "layer3", "layer4"]
    names, last_relu = [], None
    for name, module in model.features.named_children():
        if isinstance(module, nn.ReLU):
            last_relu = name
        elif isinstance(module, nn.MaxPool2d) and last_relu is not None:
            names.append(f"features.{last_relu}")
    if f"features.{last_relu}" not in names:  # small nets end on a ReLU, torchvision's on a pool
        names.append(f"features.{last_relu}")
    return names


def extract_features(model: nn.Module, x: torch.Tensor, layers: Sequence[str]) -> dict:
    """Run ``model`` on ``x`` once and return ``{layer name: feature map}``."""
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise KeyError(f"model has no layer(s) {missing}; see padpos.models.feature_layers")
    out: dict[str, torch.Tensor] = {}
    hooks = [
        modules[name].register_forward_hook(lambda m, i, o, name=name: out.__setitem__(name, o))
        for name in layers
    ]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    # inplace ReLUs may overwrite a tapped tensor later in the forward pass; the
    # taps are stage outputs, which no later layer modifies in place
    return {name: out[name] for name in layers}


# ---------------------------------------------------------------- checkpoints
def checkpoint_dict(model: nn.Module, meta: dict) -> dict:
    """What a model file holds: the weights and everything needed to rebuild the model."""
    missing = [k for k in ("arch", "padding", "num_classes") if k not in meta]
    if missing:
        raise ValueError(f"checkpoint meta lacks {missing}")
    return {"meta": dict(meta), "state_dict": model.state_dict()}


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
