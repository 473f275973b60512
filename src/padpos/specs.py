"""A job's spec: its settings with the stage's defaults filled in, and clear errors.

Every command takes its result-changing settings as one JSON ``--spec``; the rules
pass the whole (validated) config section, and a spec written by hand may leave
keys out. :func:`with_defaults` is the one way a stage fills them.
"""

from __future__ import annotations

import copy
from typing import Iterable


def with_defaults(
    spec: dict,
    defaults: dict,
    what: str,
    required: Iterable[str] = (),
    extra: Iterable[str] = (),
) -> dict:
    """``defaults`` updated with ``spec`` (a nested dict of the defaults is updated key by
    key, so ``{"sizes": {"train": 500}}`` keeps the other sizes).

    A key of ``required`` missing from ``spec`` is a ValueError naming it, as is a key
    that is neither a default, required nor in ``extra`` (the identifying keys a stage
    accepts, e.g. ``study``): a typo must not silently fall back to a default."""
    required, extra = tuple(required), tuple(extra)
    missing = [k for k in required if k not in spec]
    if missing:
        raise ValueError(f"{what} spec lacks {missing}")
    known = set(defaults) | set(required) | set(extra)
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"{what} spec: unknown key(s) {unknown}; known: {sorted(known)}")
    out = copy.deepcopy(defaults)
    for key, value in spec.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = {**out[key], **copy.deepcopy(value)}
        else:
            out[key] = copy.deepcopy(value)
    return out


def describe_scale(cfg: dict, paper: dict, differences) -> str:
    """'paper scale', or 'reduced: ...' listing how ``cfg`` differs from the paper's
    settings ``paper`` (figure titles). ``differences`` is a sequence of
    ``(differs, text)`` pairs of functions of the merged settings: ``text(cfg)`` is
    listed when ``differs(cfg)`` is true."""
    cfg = {**paper, **cfg}
    parts = [text(cfg) for differs, text in differences if differs(cfg)]
    return "reduced: " + ", ".join(parts) if parts else "paper scale"


__all__ = ["describe_scale", "with_defaults"]
