"""The names the whole project agrees on, importable without torch.

Padding schemes, Red-Green conv types and architecture names are read from here
by the padding and model code, the config checks (:mod:`padpos.workflow.config`), the plot
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
# same-size scheme, F-Conv, and this project's extension circular_pad2.
# `circular` (pad 1) IS the official S-Conv circular ([KAY20]'s README row 'S-Conv Cir'):
# the official code writes padding=2, padding_mode='circular', which PyTorch < 1.5
# applied as one pixel per side. `circular_pad2` is a true pad-2 circular conv (maps grow
# by 2 per conv and wrap around a torus larger than the image): never run by the authors.
REDGREEN_VARIANTS: dict[str, tuple[str, int]] = {
    "valid": ("valid", 0),
    **{scheme: (scheme, 1) for scheme in SAME_SIZE_SCHEMES},
    "full": ("full", 2),
    "circular_pad2": ("circular", 2),
}
CONV_TYPES: dict[str, str] = {
    "valid": "V-Conv",
    "full": "F-Conv",
    "circular_pad2": "extension",
}  # all others: S-Conv
# figure / table labels of the variants whose relation to [KAY20] needs saying
REDGREEN_ORIGIN: dict[str, str] = {
    "circular": "S-Conv (official cir)",
    "circular_pad2": "extension (ours)",
}


def conv_type(variant: str) -> str:
    """'V-Conv', 'S-Conv' or 'F-Conv' for a Red-Green variant name ('extension' for
    circular_pad2, a pad-2 circular conv that [KAY20] never ran)."""
    if variant not in REDGREEN_VARIANTS:
        raise ValueError(
            f"unknown Red-Green variant {variant!r}; allowed: {', '.join(REDGREEN_VARIANTS)}"
        )
    return CONV_TYPES.get(variant, "S-Conv")


# ---------------------------------------------------------------- architectures
SMALL_ARCHS: tuple[str, ...] = ("small_resnet", "small_vgg", "small_plain")
TORCHVISION_ARCHS: tuple[str, ...] = ("resnet18", "resnet50", "vgg11_bn", "vgg16_bn")
ARCHS: tuple[str, ...] = SMALL_ARCHS + TORCHVISION_ARCHS
# archs built from residual blocks: 'valid' cannot keep their additions aligned
RESIDUAL_ARCHS: tuple[str, ...] = ("small_resnet", "resnet18", "resnet50")

# ---------------------------------------------------------------- stage vocabularies
# (read by a stage's science, its tables and its figures; torch-free, so that table and
# figure jobs need not import the science)
# PPP's scalar metrics per layer (docs/protocols.md section 2), in table order
PPP_METRICS: tuple[str, ...] = ("ppp_snr_db", "ppp_consistency", "ppp_reach_px")
# PosENet's position targets, evaluation inputs and scores (docs/protocols.md section 3)
POSENET_TARGETS: tuple[str, ...] = ("H", "V", "G", "HS", "VS")
POSENET_INPUTS: tuple[str, ...] = ("natural", "black", "white", "noise")
POSENET_METRICS: tuple[str, ...] = ("spc", "mae")
# the location test's initialisations (docs/protocols.md section 4b)
LOCATION_INITS: tuple[str, ...] = ("random-frozen", "scratch")
# the canvas location test's rings of cells and canvas colours (docs/protocols.md section 5)
CANVAS_RINGS: tuple[str, ...] = ("corner", "edge", "interior")
CANVAS_COLOURS: tuple[str, ...] = ("black", "white", "mean")

# ---------------------------------------------------------------- metric reliability
# the metrics compared on the same networks (docs/protocols.md section 6), in table order
RELIABILITY_METRICS: tuple[str, ...] = (
    "ppp_snr_db",
    "ppp_consistency",
    "posenet_spc_H",
    "posenet_spc_V",
    "posenet_spc_G",
    "location_accuracy",
)
# position-biased images of the reliability stage (padpos.data.photos)
RELIABILITY_IMAGE_SETS: tuple[str, ...] = ("photos", "biased")
# scikit-image's natural colour photographs (skimage.data; inside the wheel, offline)
PHOTOS: tuple[str, ...] = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "stereo_motorcycle",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
)

__all__ = [
    "ARCHS",
    "CANVAS_COLOURS",
    "CANVAS_RINGS",
    "LOCATION_INITS",
    "POSENET_INPUTS",
    "POSENET_METRICS",
    "POSENET_TARGETS",
    "CONV_TYPES",
    "REDGREEN_ORIGIN",
    "LOCATION_SCHEMES",
    "PADDING_SCHEMES",
    "PHOTOS",
    "PPP_METRICS",
    "REDGREEN_VARIANTS",
    "RELIABILITY_IMAGE_SETS",
    "RELIABILITY_METRICS",
    "RESIDUAL_ARCHS",
    "SAME_SIZE_SCHEMES",
    "SIZE_CHANGING_SCHEMES",
    "SMALL_ARCHS",
    "TORCHVISION_ARCHS",
    "conv_type",
]
