"""Which padding schemes compute the same function on an architecture, detected
numerically (issue: no scheme counted twice).

For each arch, every scheme's net is built with the same weights (the first scheme's
state dict loaded into each: padding adds no parameters), set to eval mode, and fed the
same random images; two schemes are one arm when every feature tap and the logits agree
to within ``RTOL`` of their scale. A 3 x 3 conv with a 1-pixel pad reads one border row,
where ``symmetric`` (mirror including the edge) equals ``replicate``; a larger kernel or
pad tells them apart. The table lists, per scheme, the first scheme of its class in the
study's order (``same_as``) and the largest difference found (``max_abs_diff``).
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd
import torch

# agreement up to float32 rounding of a few hundred multiply-adds, relative to the scale
RTOL = 1e-5
SEED = 0


def _outputs(model: torch.nn.Module, x: torch.Tensor, taps: Sequence[str]) -> list[torch.Tensor]:
    seen: dict[str, torch.Tensor] = {}
    modules = dict(model.named_modules())
    hooks = [modules[name].register_forward_hook(lambda _m, _i, out, name=name: seen.__setitem__(name, out))
             for name in taps]  # fmt: skip
    try:
        with torch.no_grad():
            logits = model(x)
    finally:
        for h in hooks:
            h.remove()
    return [seen[name] for name in taps] + [logits]


def scheme_equivalence(arch: str, schemes: Sequence[str], image_size: int, width: int,
                       num_classes: int = 10, n_images: int = 4) -> pd.DataFrame:  # fmt: skip
    """One row per scheme: ``arch, scheme, same_as, max_abs_diff, scale``."""
    from padpos.models import build_model, feature_layers

    schemes = list(dict.fromkeys(schemes))
    torch.manual_seed(SEED)
    models = {s: build_model(arch, s, num_classes, width=width).eval() for s in schemes}
    state = models[schemes[0]].state_dict()
    for m in models.values():
        m.load_state_dict(state)
    x = torch.randn(n_images, 3, image_size, image_size, generator=torch.Generator().manual_seed(SEED))
    taps = feature_layers(arch)
    outs = {s: _outputs(m, x, taps) for s, m in models.items()}
    rows, reps = [], []
    for s in schemes:
        same_as, diff_to_rep = s, 0.0
        for rep in reps:
            diffs = [float((a - b).abs().max()) for a, b in zip(outs[s], outs[rep])]
            scales = [float(b.abs().max()) for b in outs[rep]]
            if all(d <= RTOL * max(scale, 1e-12) for d, scale in zip(diffs, scales)):
                same_as, diff_to_rep = rep, max(diffs)
                break
        if same_as == s:
            reps.append(s)
        rows.append({"arch": arch, "scheme": s, "same_as": same_as, "max_abs_diff": diff_to_rep,
                     "scale": float(outs[s][-1].abs().max()), "image_size": image_size, "width": width})  # fmt: skip
    return pd.DataFrame(rows)


def equivalence_table(archs: Sequence[str], schemes: Sequence[str], image_size: int, width: int) -> pd.DataFrame:
    """:func:`scheme_equivalence` of every arch, one table."""
    return pd.concat([scheme_equivalence(a, schemes, image_size, width) for a in archs], ignore_index=True)
