"""Validation of a study configuration against workflow/schemas/config.schema.yaml.

The schema is the single description of every key. Validation fills defaults
and turns jsonschema's messages into errors that name the key (``paddings[2]``,
``train.epochs``) and, for enumerations, the allowed values. A few rules that a
schema cannot express (a data path that must exist, a snapshot epoch beyond the
last epoch, a padding that cannot be used with an architecture) are checked here
too, so that a bad config stops before any job runs.

Snakemake's ``--config key=value`` hands a nested value over as strings
(``seeds=[0,1]`` arrives as ``['0', '1']``); :func:`coerce_strings` converts such
strings where the schema asks for an integer, number, boolean or null, before
validation, so that the documented override works and real mistakes are still refused.
"""

from __future__ import annotations

import copy
import math
import warnings
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from padpos.names import RESIDUAL_ARCHS

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigWarning(UserWarning):
    """A config value that was adjusted (and said so) rather than refused."""


class ConfigError(ValueError):
    """A study configuration is invalid; the message names the key."""


def load_schema(path: Path | str | None = None) -> dict:
    path = Path(path) if path else SCHEMA_PATH
    with open(path) as fh:
        return yaml.safe_load(fh)


def _key_path(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _with_defaults(validator_class):
    """A validator that fills ``default`` values of properties, recursively."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _describe(error: jsonschema.ValidationError) -> str:
    key = _key_path(error.absolute_path)
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"config key '{key}': {error.instance!r} is not allowed; allowed values: {allowed}"
    if error.validator == "additionalProperties":
        known = ", ".join(sorted(error.schema.get("properties", {})))
        return f"config key '{key}': {error.message}; known keys: {known}"
    return f"config key '{key}': {error.message}"


_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}
_NULL = {"null", "none", "~", ""}


def _types(schema: dict) -> set[str]:
    t = schema.get("type", [])
    return {t} if isinstance(t, str) else set(t)


def _coerce_scalar(value: str, types: set[str]) -> Any:
    """``value`` converted to the first schema type it reads as (YAML spelling), else unchanged."""
    text = value.strip()
    if "null" in types and text.lower() in _NULL:
        return None
    if "boolean" in types and text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    if "integer" in types:
        try:
            return int(text)
        except ValueError:
            pass
    if "number" in types:
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if math.isnan(number):
                return value  # NaN passes every minimum check: leave it for validation to refuse
            # 3 stays an int, as YAML would read it; 0.5, 1e-3, inf become floats
            return int(number) if "integer" in types and number.is_integer() else number
    return value


def coerce_strings(instance: Any, schema: dict) -> Any:
    """Convert, in place and recursively, strings where ``schema`` wants no string.

    Only a string whose schema does not allow strings is touched, and only if it
    reads as a value of an allowed type (``'3'`` -> 3, ``'0.1'`` -> 0.1, ``'false'``
    -> False, ``'null'`` -> None); anything else is left for validation to refuse
    (``'three'`` is still "not of type 'integer'", naming the key). Returns the
    (possibly replaced) instance.
    """
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        for key, value in instance.items():
            if key in props:
                instance[key] = coerce_strings(value, props[key])
        return instance
    if isinstance(instance, list):
        items = schema.get("items")
        if isinstance(items, dict):
            instance[:] = [coerce_strings(v, items) for v in instance]
        return instance
    if isinstance(instance, str):
        types = _types(schema)
        if types and "string" not in types:
            return _coerce_scalar(instance, types)
    return instance



def validate_config(config: dict, schema_path: Path | str | None = None) -> dict:
    """Validate ``config`` in place (defaults filled) and return it; raise ConfigError."""
    if config is None:
        config = {}
    schema = load_schema(schema_path)
    coerce_strings(config, schema)  # command-line overrides arrive as strings
    validator = _with_defaults(jsonschema.Draft202012Validator)(schema)
    # defaults first (one pass fills nested ones), then collect every error
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(_describe(e) for e in errors))
    _check_semantics(config)
    return config


def _check_semantics(config: dict) -> None:
    problems = []
    data = config.get("data", {})
    if data.get("dataset") == "imagefolder":
        path = data.get("path")
        if not path:
            problems.append("config key 'data.path': required when data.dataset is 'imagefolder'")
        elif not Path(path).is_dir():
            problems.append(f"config key 'data.path': folder {path!r} does not exist")
    if data.get("dataset") == "synthetic":
        for key in ("num_train", "num_test"):
            if data.get(key) is None:
                problems.append(f"config key 'data.{key}': synthetic data needs a number of images")
    train = config.get("train", {})
    epochs = train.get("epochs", 0)
    late = [e for e in train.get("snapshot_epochs", []) if e > epochs]
    if late:
        # a one-run override such as --config "train={'epochs': 3}" shortens training; the
        # snapshots it can no longer reach are dropped, loudly, rather than refusing the run
        train["snapshot_epochs"] = [e for e in train["snapshot_epochs"] if e <= epochs]
        warnings.warn(
            f"config key 'train.snapshot_epochs': epochs {late} are beyond train.epochs = {epochs} "
            f"and are dropped (snapshots kept: {train['snapshot_epochs']})",
            ConfigWarning,
            stacklevel=2,
        )
    for arch in config.get("archs", []):
        if arch in RESIDUAL_ARCHS and "valid" in config.get("paddings", []):
            problems.append(
                f"config key 'paddings': 'valid' shrinks maps and cannot be used with the residual "
                f"arch {arch!r} (use it with small_vgg / vgg*, or in the F-Conv tests)"
            )
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))


def load_config(path: Path | str) -> dict:
    """Read a YAML study config and validate it (used by tests and notebooks)."""
    with open(path) as fh:
        return validate_config(yaml.safe_load(fh) or {})
