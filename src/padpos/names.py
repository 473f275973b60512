"""The names the whole project agrees on, importable without torch.

Padding schemes, Red-Green conv types and architecture names are read from here
by the padding and model code, the config checks (:mod:`padpos.config`), the plot
styles and the F-Conv tests; ``tests/test_names.py`` keeps the enums of
``workflow/schemas/config.schema.yaml`` equal to these lists. Adding a padding
scheme or an architecture starts here (see docs/developing.md).
"""

from __future__ import annotations

# ---------------------------------------------------------------- padding schemes
# schemes that keep a stride-1 conv's output size (S-Conv in [KAY20]'s terms),
# in the canonical order of tables and figures (a new scheme goes at the end, so
# that every existing scheme keeps its colour in the figures)
SAME_SIZE_SCHEMES: tuple[str, ...] = (
    "zeros",
    "reflect",
    "replicate",
    "circular",
    "partial",
    "none",
    "symmetric",
)
# schemes that change the map size: valid shrinks (V-Conv), full grows (F-Conv)
SIZE_CHANGING_SCHEMES: tuple[str, ...] = ("valid", "full")
PADDING_SCHEMES: tuple[str, ...] = SAME_SIZE_SCHEMES + SIZE_CHANGING_SCHEMES

# schemes the F-Conv location test sweeps (every scheme whose maps do not shrink)
LOCATION_SCHEMES: tuple[str, ...] = tuple(s for s in PADDING_SCHEMES if s != "valid")

# ---------------------------------------------------------------- Red-Green conv types
# variant -> (padding scheme, per-side pad of every 3x3 conv): V-Conv, one S-Conv per
# same-size scheme, F-Conv, and the official code's pad-2 circular variant
REDGREEN_VARIANTS: dict[str, tuple[str, int]] = {
    "valid": ("valid", 0),
    **{scheme: (scheme, 1) for scheme in SAME_SIZE_SCHEMES},
    "full": ("full", 2),
    "circular_pad2": ("circular", 2),
}
CONV_TYPES: dict[str, str] = {"valid": "V-Conv", "full": "F-Conv"}  # all others: S-Conv


def conv_type(variant: str) -> str:
    """'V-Conv', 'S-Conv' or 'F-Conv' for a Red-Green variant name."""
    if variant not in REDGREEN_VARIANTS:
        raise ValueError(
            f"unknown Red-Green variant {variant!r}; allowed: {', '.join(REDGREEN_VARIANTS)}"
        )
    return CONV_TYPES.get(variant, "S-Conv")


# ---------------------------------------------------------------- architectures
SMALL_ARCHS: tuple[str, ...] = ("small_resnet", "small_vgg")
TORCHVISION_ARCHS: tuple[str, ...] = ("resnet18", "resnet50", "vgg11_bn", "vgg16_bn")
ARCHS: tuple[str, ...] = SMALL_ARCHS + TORCHVISION_ARCHS
# archs built from residual blocks: 'valid' cannot keep their additions aligned
RESIDUAL_ARCHS: tuple[str, ...] = ("small_resnet", "resnet18", "resnet50")

__all__ = [
    "ARCHS",
    "CONV_TYPES",
    "LOCATION_SCHEMES",
    "PADDING_SCHEMES",
    "REDGREEN_VARIANTS",
    "RESIDUAL_ARCHS",
    "SAME_SIZE_SCHEMES",
    "SIZE_CHANGING_SCHEMES",
    "SMALL_ARCHS",
    "TORCHVISION_ARCHS",
    "conv_type",
]
