"""Validation of a study configuration against workflow/schemas/config.schema.yaml.

The schema is the single description of every key. Validation fills defaults
and turns jsonschema's messages into errors that name the key (``paddings[2]``,
``train.epochs``) and, for enumerations, the allowed values. A few rules that a
schema cannot express (a data path that must exist, a snapshot epoch beyond the
last epoch, a padding that cannot be used with an architecture) are checked here
too, so that a bad config stops before any job runs.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from padpos.names import RESIDUAL_ARCHS

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


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




def validate_config(config: dict, schema_path: Path | str | None = None) -> dict:
    """Validate ``config`` in place (defaults filled) and return it; raise ConfigError."""
    if config is None:
        config = {}
    schema = load_schema(schema_path)
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
    for e in train.get("snapshot_epochs", []):
        if e > epochs:
            problems.append(
                f"config key 'train.snapshot_epochs': epoch {e} is beyond train.epochs = {epochs}"
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
