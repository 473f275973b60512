"""Which pretrained models a study evaluates (torch-free: the Snakefile reads it as it parses).

A model is written ``<library>:<what>`` (config key ``pretrained.models``):

- ``torchvision:<arch>:<weights>``: a torchvision model and the name of one of its
  weights (``torchvision:vgg16:IMAGENET1K_V1``, ``torchvision:resnet152:IMAGENET1K_V2``;
  ``DEFAULT`` is torchvision's alias of the newest weights);
- ``timm:<model name>``: a timm model with its pretrained tag (``timm:resnet50.a1_in1k``;
  needs the optional extra ``pip install 'padpos[pretrained]'``);
- ``file:<path>``: a checkpoint file (a padpos ``model.pt``, or a whole ``nn.Module``
  saved with ``torch.save(model)``);
- ``python:<module>:<callable>``: a callable of installed Python code that returns an
  ``nn.Module`` with its weights loaded (``python:padpos.stages.pretrained.zoo:efficientnet_lite0``,
  or your own package's builder): :func:`check_python_model` imports and calls it when the
  config is read, so that a wrong entry stops before any job.

Each model gets a file-safe name (:attr:`ModelSpec.slug`), the folder of its results.
Every model is evaluated as published (padding ``native``) and, opt-in, with other
padding schemes swapped in (``pretrained.what_if_paddings``, weights unchanged).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from padpos.names import PADDING_SCHEMES

LIBRARIES: tuple[str, ...] = ("torchvision", "timm", "file", "python")
# the padding of a model as published (zero padding for torchvision's and timm's CNNs)
NATIVE = "native"
# the readout on raw RGB that [ISL20] Table 1 lists as "PosENet": a row of its own
ALONE = "posenet_alone"

# Settings of the stage (config section ``pretrained``; defaults = schema defaults).
# The readout's own settings (epochs, lr, grid, ...) are the study's ``posenet`` section.
DEFAULTS = {
    "models": [],
    "what_if_paddings": [],
    "layers": {},
    "seeds": [0],
    "batch_size": 16,
    "posenet_per_layer": True,
    "images": {
        "path": None,
        "test_path": None,
        "photos": None,
        "size": 224,
        "context_px": 64,
        "num_train": 200,
        "num_test": 100,
        "seed": 0,
    },
}

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ModelSpec:
    """One entry of ``pretrained.models``: ``text`` as written, its library, ``name``
    (torchvision arch, timm model name or file path) and torchvision's weights name."""

    text: str
    library: str
    name: str
    weights: str | None = None

    @property
    def slug(self) -> str:
        """A file-safe name: the folder of this model's results and its wildcard value."""
        parts = [self.library, self.name] + ([self.weights] if self.weights else [])
        return "-".join(_UNSAFE.sub("_", p).strip("_") or "_" for p in parts)


def parse_model(text: str) -> ModelSpec:
    """The :class:`ModelSpec` of one ``pretrained.models`` entry; a ValueError naming the
    key and the accepted forms otherwise."""
    forms = "torchvision:<arch>:<weights>, timm:<model name>, file:<path>, python:<module>:<callable>"
    library, sep, rest = str(text).partition(":")
    if not sep or library not in LIBRARIES or not rest.strip():
        raise ValueError(f"config key 'pretrained.models': {text!r} is not a model; write one of {forms}")
    if library == "torchvision":
        arch, sep, weights = rest.partition(":")
        if not (sep and re.fullmatch(r"\w+", arch) and re.fullmatch(r"\w+", weights)):
            raise ValueError(
                f"config key 'pretrained.models': {text!r}: a torchvision model is "
                "torchvision:<arch>:<weights> (e.g. torchvision:vgg16:IMAGENET1K_V1; DEFAULT = the newest weights)"
            )
        return ModelSpec(text, library, arch, weights)
    if library == "python":
        module, sep, attr = rest.strip().partition(":")
        dotted = r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*"
        if not (sep and re.fullmatch(dotted, module) and re.fullmatch(dotted, attr)):
            raise ValueError(
                f"config key 'pretrained.models': {text!r}: a model built by Python code is "
                "python:<module>:<callable> (e.g. python:padpos.stages.pretrained.zoo:efficientnet_lite0)"
            )
    return ModelSpec(text, library, rest.strip())


def python_callable(spec: ModelSpec):
    """The callable a ``python:`` entry names, imported; a ValueError naming the key and the
    entry when its package is not installed, the module does not exist or the name is no
    callable of it."""
    import importlib
    import importlib.util

    where = f"config key 'pretrained.models': {spec.text!r}"
    module_name, _, attr = spec.name.partition(":")
    top = module_name.split(".")[0]
    if importlib.util.find_spec(top) is None:
        raise ValueError(f"{where}: no installed package provides the module {top!r} (pip install it first)")
    try:
        obj = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise ValueError(f"{where}: cannot import {module_name!r}: {err}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{where}: module {module_name!r} has no {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{where}: {module_name}:{attr} is a {type(obj).__name__}, not a callable")
    return obj


_CHECKED: dict[str, object] = {}


def build_python_model(spec: ModelSpec):
    """Call a ``python:`` entry's callable; it must return an ``nn.Module`` (a ValueError
    naming the key and the entry otherwise, and when the call itself fails)."""
    from torch import nn

    where = f"config key 'pretrained.models': {spec.text!r}"
    fn = python_callable(spec)
    try:
        model = fn()
    except Exception as err:  # a missing weights package, a bad file, ...: the entry's fault
        raise ValueError(f"{where}: calling it failed ({type(err).__name__}: {err})") from None
    if not isinstance(model, nn.Module):
        raise ValueError(f"{where}: it returned a {type(model).__name__}, not a torch nn.Module")
    return model


def check_python_model(spec: ModelSpec) -> None:
    """Build a ``python:`` entry once per process (the Snakefile calls this as it reads the
    config, so that a wrong entry stops before any job); other entries pass."""
    if spec.library == "python" and spec.text not in _CHECKED:
        _CHECKED[spec.text] = type(build_python_model(spec)).__name__


def parse_models(texts: Sequence[str], build: bool = False) -> list[ModelSpec]:
    """Every model of ``pretrained.models``; two entries with the same file-safe name are
    an error naming both. ``build``: a ``python:`` entry is imported and called
    (:func:`check_python_model`)."""
    out, seen = [], {}
    for text in texts:
        spec = parse_model(text)
        if build:
            check_python_model(spec)
        if spec.slug in seen:
            raise ValueError(
                f"config key 'pretrained.models': {seen[spec.slug]!r} and {text!r} would share the "
                f"results folder {spec.slug!r}; list each model once"
            )
        seen[spec.slug] = text
        out.append(spec)
    return out


def what_if_paddings(setting, model: str, models: Sequence[str] = ()) -> list[str]:
    """The what-if padding schemes of ``model``: ``setting`` is a list (every model) or a
    mapping model -> list (``pretrained.what_if_paddings``); a key that names no listed
    model, or an unknown scheme, is an error naming it."""
    if isinstance(setting, Mapping):
        unknown = sorted(set(setting) - set(models)) if models else []
        if unknown:
            raise ValueError(
                f"config key 'pretrained.what_if_paddings': {unknown} are not in pretrained.models"
            )
        schemes = list(setting.get(model, []))
    else:
        schemes = list(setting or [])
    bad = [s for s in schemes if s not in PADDING_SCHEMES]
    if bad:
        raise ValueError(
            f"config key 'pretrained.what_if_paddings': {bad} unknown; allowed: {', '.join(PADDING_SCHEMES)}"
        )
    return schemes


def paddings_of(setting, model: str, models: Sequence[str] = ()) -> list[str]:
    """``native`` (the model as published), then its what-if schemes."""
    return [NATIVE] + [s for s in what_if_paddings(setting, model, models) if s != NATIVE]


def layer_override(layers: Mapping, model: str, models: Sequence[str] = ()) -> list[str] | None:
    """The feature taps ``pretrained.layers`` names for ``model`` (None: the default taps)."""
    unknown = sorted(set(layers or {}) - set(models)) if models else []
    if unknown:
        raise ValueError(f"config key 'pretrained.layers': {unknown} are not in pretrained.models")
    taps = (layers or {}).get(model)
    return None if taps is None else [str(t) for t in taps]


def run_files(pattern: str, paddings: Mapping[str, Sequence[str]]) -> list[str]:
    """``pattern`` (with ``{model}`` and ``{padding}``) over every model slug x its paddings."""
    return [pattern.format(model=slug, padding=p) for slug, schemes in paddings.items() for p in schemes]


def probe_spec(settings: Mapping, model: str, padding: str, study: str, readout: Mapping) -> dict:
    """A probe job's settings (``pretrained-posenet`` / ``-ppp`` / ``-location``): what changes
    its results; the images come as a file, the weights as the fetch record."""
    layers = settings.get("layers") or {}
    return {
        "study": study,
        "model": model,
        "padding": padding,
        "layers": {model: list(layers[model])} if model in layers else {},
        "seeds": list(settings["seeds"]),
        "batch_size": settings["batch_size"],
        "posenet_per_layer": settings["posenet_per_layer"],
        "posenet": dict(readout),
    }


def figure_args(inputs: Mapping) -> str:
    """A figure command's options from a rule's named inputs: each (but ``code``) is
    ``--<name> <files>``, shell-quoted (the figure rules name their inputs as the options)."""
    import shlex

    items = inputs.items()
    return " ".join(f"--{name} " + " ".join(shlex.quote(str(f)) for f in ([files] if isinstance(files, str) else files))
                    for name, files in items if name != "code")  # fmt: skip


__all__ = [
    "ALONE",
    "DEFAULTS",
    "LIBRARIES",
    "build_python_model",
    "check_python_model",
    "figure_args",
    "ModelSpec",
    "NATIVE",
    "layer_override",
    "paddings_of",
    "parse_model",
    "parse_models",
    "probe_spec",
    "python_callable",
    "run_files",
    "what_if_paddings",
]
