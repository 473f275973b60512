"""Pretrained weights: fetched once into the libraries' own caches, read offline after.

Where each library keeps them (the caches are the libraries', not this project's):

- torchvision: ``$TORCH_HOME/hub/checkpoints/<file name of the weights' URL>``
  (``torch.hub.get_dir()``; ``TORCH_HOME`` defaults to ``~/.cache/torch``);
- timm: the Hugging Face cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
  ``~/.cache/huggingface/hub``) for weights on the Hub, torch.hub's cache for the few
  that only have a URL;
- file: the file itself.

:func:`fetch` (the one local rule, on a machine with internet) downloads through the
library's own function (torchvision's ``Weights.get_state_dict``, which checks the
hash in the file name; ``timm.create_model(..., pretrained=True)``) and returns a record
with the cached file and its sha256. :func:`load_model` (every compute job) never
downloads: it finds the cached file, checks it against the record, and raises
:class:`WeightsNotCached` naming the model and the path when the cache is empty.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from padpos.io import ReportedError
from padpos.stages.pretrained.catalog import ModelSpec, parse_model

# ImageNet's per-channel statistics: torchvision's and most timm weights' normalisation,
# and what a checkpoint file that records none is normalised with
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TIMM_EXTRA = "pip install 'padpos[pretrained]'  (or: pip install 'timm>=1.0')"


class WeightsNotCached(ReportedError):
    """A compute job found no weights in the cache (it never downloads)."""


class WeightsFetchError(ReportedError):
    """The fetch rule could not download a model's weights."""


class WeightsChanged(ReportedError):
    """The cached file is not the one the fetch rule recorded."""


class ModelError(ReportedError):
    """A model cannot be built, tapped or converted as configured."""


# ---------------------------------------------------------------- caches
def torch_hub_checkpoints() -> Path:
    """torch.hub's checkpoint folder (``$TORCH_HOME/hub/checkpoints``), read now."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache as huggingface_hub resolves it, read from the
    environment now (huggingface_hub reads it once, when imported)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface"
    )
    return Path(home) / "hub"


def _url_file(url: str) -> str:
    return os.path.basename(urlparse(url).path)


# ---------------------------------------------------------------- per library
def _torchvision_weights(spec: ModelSpec):
    from torchvision.models import get_model_weights

    try:
        enum = get_model_weights(spec.name)
    except ValueError:
        raise ModelError(f"pretrained model {spec.text!r}: torchvision has no model {spec.name!r} "
                         "(torchvision.models.list_models() lists them)") from None  # fmt: skip
    try:
        return enum[spec.weights]
    except KeyError:
        known = ", ".join([w.name for w in enum] + ["DEFAULT"])
        raise ModelError(f"pretrained model {spec.text!r}: torchvision's {spec.name} has no weights "
                         f"{spec.weights!r}; known: {known}") from None  # fmt: skip


def _timm():
    try:
        import timm
    except ImportError:
        raise ModelError(f"timm is not installed, and timm models need it: {TIMM_EXTRA}") from None
    return timm


def _timm_cfg(spec: ModelSpec):
    timm = _timm()
    cfg = timm.models.get_pretrained_cfg(spec.name)
    if cfg is None or not timm.is_model(spec.name):
        raise ModelError(f"pretrained model {spec.text!r}: timm has no model {spec.name!r} with pretrained "
                         "weights (timm.list_pretrained() lists them)")  # fmt: skip
    if cfg.source in ("hf-hub", "local-dir"):
        raise ModelError(f"pretrained model {spec.text!r}: give a timm registry name (e.g. resnet50.a1_in1k), "
                         "not a hub or folder reference")  # fmt: skip
    return cfg


def _timm_hf_files(cfg) -> list[str]:
    """The files timm loads from the Hub for ``cfg``: its own file name, else safetensors
    first, then the PyTorch pickle (timm's order)."""
    return [cfg.hf_hub_filename] if cfg.hf_hub_filename else ["model.safetensors", "pytorch_model.bin"]


@dataclass
class Location:
    """Where a model's weights are (``path``; None if not cached) or would be (``expected``)."""

    path: Path | None
    expected: str
    source: str


def locate(spec: ModelSpec) -> Location:
    """Where ``spec``'s weights are in their library's cache (no network)."""
    if spec.library == "torchvision":
        w = _torchvision_weights(spec)
        path = torch_hub_checkpoints() / _url_file(w.url)
        return Location(path if path.is_file() else None, str(path), w.url)
    if spec.library == "timm":
        cfg = _timm_cfg(spec)
        if cfg.hf_hub_id:  # timm prefers the Hub when a model is there
            from huggingface_hub import try_to_load_from_cache

            repo, _, revision = cfg.hf_hub_id.partition("@")
            cache = hf_cache_dir()
            for name in _timm_hf_files(cfg):
                found = try_to_load_from_cache(repo, name, cache_dir=str(cache), revision=revision or None)
                if isinstance(found, str):  # (a "known absent" marker is not a path)
                    return Location(Path(found), found, f"hf-hub:{cfg.hf_hub_id}")
            folder = cache / f"models--{repo.replace('/', '--')}"
            return Location(None, f"{folder}/snapshots/<revision>/{' or '.join(_timm_hf_files(cfg))}",
                            f"hf-hub:{cfg.hf_hub_id}")  # fmt: skip
        path = torch_hub_checkpoints() / _url_file(cfg.url)
        return Location(path if path.is_file() else None, str(path), cfg.url)
    path = Path(spec.name)
    return Location(path if path.is_file() else None, str(path), f"file:{path}")


def fetch(text: str) -> dict:
    """Download the weights of model ``text`` into its library's cache (nothing to do when
    they are there already) and return the record: model, library, source, the cached
    ``file``, its ``sha256`` and size, and the model's input normalisation."""
    from padpos.data import file_digest

    spec = parse_model(text)
    started = time.time()
    if spec.library == "torchvision":
        w = _torchvision_weights(spec)
        target = torch_hub_checkpoints() / _url_file(w.url)
        try:
            # torchvision's own download: a URL whose file name carries a hash prefix is checked
            w.get_state_dict(progress=False, check_hash=True)
        except Exception as err:
            raise WeightsFetchError(
                f"pretrained model {text!r}: cannot download {w.url} into {target} "
                f"({type(err).__name__}: {err}). This rule needs internet; or copy the file there by hand"
            ) from None
    elif spec.library == "timm":
        timm, cfg = _timm(), _timm_cfg(spec)
        kwargs = {"cache_dir": str(hf_cache_dir())} if cfg.hf_hub_id else {}
        try:
            timm.create_model(spec.name, pretrained=True, **kwargs)  # timm's own download
        except Exception as err:
            raise WeightsFetchError(
                f"pretrained model {text!r}: timm cannot download its weights ({type(err).__name__}: {err}) "
                f"into {locate(spec).expected}. This rule needs internet"
            ) from None
    location = locate(spec)
    if location.path is None:
        what = "the checkpoint file does not exist (config key 'pretrained.models')" if spec.library == "file" \
            else "the download left no file there"  # fmt: skip
        raise WeightsFetchError(f"pretrained model {text!r}: no weights at {location.expected}: {what}")
    return {
        "model": text,
        "slug": spec.slug,
        "library": spec.library,
        "name": spec.name,
        "weights": spec.weights,
        "source": location.source,
        "file": str(location.path.resolve()),
        "sha256": file_digest(location.path),
        "bytes": location.path.stat().st_size,
        "fetch_s": round(time.time() - started, 2),
    }


def write_record(text: str, output) -> None:
    """The fetch rule's job: :func:`fetch` model ``text`` and write its record (JSON, with
    the job's provenance) to ``output``."""
    from padpos import runtime
    from padpos.io import write_json

    started = time.time()
    record = fetch(text)
    write_json(output, {**record, "provenance": runtime.provenance({"model": text}, started, "cpu")})


# ---------------------------------------------------------------- loading (offline)
@dataclass
class LoadedModel:
    """A pretrained model ready to probe: eval mode, frozen, on the CPU; its feature taps
    (shallow to deep; a function of the model until :func:`load_model` resolves them),
    its input normalisation and where both came from."""

    model: object
    taps: object
    mean: tuple[float, ...]
    std: tuple[float, ...]
    facts: dict = field(default_factory=dict)


def cached_file(spec: ModelSpec, record: dict | None = None) -> Path:
    """The cached weights of ``spec``; WeightsNotCached naming the model and the path if
    the cache is empty, WeightsChanged if the file is not the one ``record`` fetched."""
    from padpos.data import file_digest

    location = locate(spec)
    if location.path is None:
        hint = ("config key 'pretrained.models' names a file that does not exist" if spec.library == "file"
                else "fetch them once on a machine with internet (the local rule pretrained_fetch: "
                     "snakemake runs it first), with the same TORCH_HOME / HF_HOME as this job")  # fmt: skip
        raise WeightsNotCached(
            f"pretrained model {spec.text!r}: no weights in the cache at {location.expected}; {hint}. "
            "Compute jobs never download"
        )
    if record is not None:
        digest = file_digest(location.path)
        if digest != record.get("sha256"):
            raise WeightsChanged(
                f"pretrained model {spec.text!r}: the cached file {location.path} (sha256 {digest}) is not the "
                f"one that was fetched (sha256 {record.get('sha256')}, in the fetch record). Delete the record "
                "and re-run, so that the fetch rule records the file in the cache now"
            )
    return location.path


def default_taps(model) -> list[str]:
    """The multi-level taps of a torchvision-style CNN: ResNets (and ResNeXts, Wide
    ResNets) ``layer1..layer4``; VGGs and AlexNet the ReLU at the end of each stage
    (:func:`padpos.models.feature_layers`). Others: a ValueError (use ``pretrained.layers``)."""
    from torch import nn

    from padpos.models import feature_layers

    features = getattr(model, "features", None)
    # a plain VGG-style stack: only single layers (no blocks), ReLUs and max-pooling among them
    children = list(features.children()) if isinstance(features, nn.Sequential) else []
    plain = bool(children) and all(not list(m.children()) for m in children) \
        and any(isinstance(m, nn.ReLU) for m in children) and any(isinstance(m, nn.MaxPool2d) for m in children)  # fmt: skip
    if hasattr(model, "layer4") or plain:
        return feature_layers(model)
    raise ValueError("no default feature taps for this architecture")


def _load_torchvision(spec: ModelSpec, path: Path) -> LoadedModel:
    from torchvision.models import get_model

    w = _torchvision_weights(spec)
    # the builder's own loading (its model kwargs for these weights); the file is in the
    # cache (checked), so torch.hub reads it and downloads nothing
    model = get_model(spec.name, weights=w)
    transforms = w.transforms()
    mean = tuple(getattr(transforms, "mean", IMAGENET_MEAN))
    std = tuple(getattr(transforms, "std", IMAGENET_STD))
    return LoadedModel(model, default_taps, mean, std,
                       {"taps_from": "padpos.models.feature_layers", "normalisation_from": "torchvision weights transforms"})  # fmt: skip


def _timm_taps(model) -> list[str]:
    """timm's own stage outputs (``feature_info``, what ``features_only=True`` returns)."""
    info = getattr(model, "feature_info", None)
    if not info:
        raise ValueError("timm gives this model no feature_info")
    return [str(i["module"]) for i in info]


def _load_timm(spec: ModelSpec, path: Path) -> LoadedModel:
    timm = _timm()
    # the file overrides every download source: timm reads the cached file, offline
    model = timm.create_model(spec.name, pretrained=True, pretrained_cfg_overlay={"file": str(path), "source": "timm"})
    cfg = model.pretrained_cfg
    return LoadedModel(model, _timm_taps, tuple(cfg.get("mean", IMAGENET_MEAN)), tuple(cfg.get("std", IMAGENET_STD)),
                       {"taps_from": "timm feature_info", "normalisation_from": "timm pretrained_cfg",
                        "timm_tag": cfg.get("tag")})  # fmt: skip


def _load_file(spec: ModelSpec, path: Path) -> LoadedModel:
    from torch import nn

    from padpos.io import load_torch
    from padpos.models import feature_layers, load_checkpoint

    # a whole pickled module needs weights_only=False: only evaluate files you trust
    obj = load_torch(path, f"checkpoint of pretrained model {spec.text!r}", map_location="cpu", weights_only=False)
    meta = {}
    if isinstance(obj, dict) and {"meta", "state_dict"} <= set(obj):
        model, meta = load_checkpoint(path)
        taps = lambda m: feature_layers(meta["arch"])  # noqa: E731
    elif isinstance(obj, nn.Module):
        model, taps = obj, default_taps
    else:
        raise ModelError(f"pretrained model {spec.text!r}: {path} holds neither a padpos checkpoint "
                         "(meta + state_dict) nor a torch.save()d nn.Module")  # fmt: skip
    mean, std = tuple(meta.get("mean", IMAGENET_MEAN)), tuple(meta.get("std", IMAGENET_STD))
    facts = {"normalisation_from": "checkpoint meta" if "mean" in meta else "ImageNet (the file records none)",
             "checkpoint_meta": {k: meta[k] for k in ("arch", "padding", "seed", "epoch") if k in meta}}  # fmt: skip
    return LoadedModel(model, taps, mean, std, facts)


LOADERS = {"torchvision": _load_torchvision, "timm": _load_timm, "file": _load_file}


def load_model(text: str, record: dict | None = None, layers: list[str] | None = None) -> LoadedModel:
    """Model ``text`` built from its cached weights (never downloaded; see
    :func:`cached_file`), eval mode, gradients off, with its feature taps resolved:
    ``layers`` (config key ``pretrained.layers``) or the library's default."""
    spec = parse_model(text)
    path = cached_file(spec, record)
    loaded = LOADERS[spec.library](spec, path)
    model = loaded.model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    if layers is not None:
        loaded.taps = list(layers)
    else:
        try:
            loaded.taps = list(loaded.taps(model))
        except Exception as err:
            raise ModelError(f"pretrained model {text!r}: {err}; name its feature taps (module names, shallow "
                             "to deep) in config key 'pretrained.layers'") from None  # fmt: skip
    modules = dict(model.named_modules())
    missing = [t for t in loaded.taps if t not in modules]
    if missing or not loaded.taps:
        raise ModelError(f"pretrained model {text!r}: feature tap(s) {missing or '(none)'} are no modules of it "
                         "(config key 'pretrained.layers')")  # fmt: skip
    loaded.facts.update(file=str(path), library=spec.library, taps=loaded.taps, mean=list(loaded.mean),
                        std=list(loaded.std))  # fmt: skip
    return loaded


def with_padding(loaded: LoadedModel, padding: str, text: str) -> LoadedModel:
    """The model with ``padding`` swapped into every padded conv and pooling layer
    (:func:`padpos.padding.convert_padding`, weights unchanged); ``native`` keeps it as
    published. A scheme the model cannot use is an error naming both."""
    from padpos.padding import convert_padding
    from padpos.stages.pretrained.catalog import NATIVE

    if padding == NATIVE:
        return loaded
    try:
        convert_padding(loaded.model, padding)
    except (ValueError, TypeError) as err:
        raise ModelError(f"pretrained model {text!r} cannot use the what-if padding {padding!r} "
                         f"(config key 'pretrained.what_if_paddings'): {err}") from None  # fmt: skip
    loaded.facts["padding"] = padding
    return loaded
