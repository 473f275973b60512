"""Small optimisers written out: SGD and Adam steps, and an exact logistic-regression fit.

Why not ``torch.optim``: constructing any of its optimisers imports ``torch._dynamo``
(about a second per job), which is more than the PosENet readout or a canvas net
takes to train on the CPU; the default study has dozens of such jobs. Each update
rule here is ``torch.optim``'s own (tests compare them step by step). Training of
the backbones (``stages/train``) and the Red-Green test keep ``torch.optim``: their
jobs are long enough that the import does not matter, and their resume state is the
optimiser's ``state_dict``.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch


def sgd_step(params: Sequence[torch.Tensor], buffers: Sequence[torch.Tensor], lr: float,
             momentum: float, weight_decay: float) -> None:
    """One SGD step with momentum and weight decay: ``torch.optim.SGD``'s update rule
    (dampening 0, no Nesterov); ``buffers`` are the momentum buffers, one per parameter,
    initialised to zeros."""
    with torch.no_grad():
        for p, buf in zip(params, buffers):
            if p.grad is None:
                continue
            buf.mul_(momentum).add_(p.grad.add(p, alpha=weight_decay))
            p.add_(buf, alpha=-lr)


def adam_step(params, state: dict, lr: float, step: int, betas=(0.9, 0.999), eps: float = 1e-8) -> None:
    """One Adam update (``torch.optim.Adam``'s rule, no weight decay, no amsgrad);
    ``step`` counts from 1; ``state`` holds the moment buffers per parameter."""
    b1, b2 = betas
    with torch.no_grad():
        for p in params:
            if p.grad is None:
                continue
            m, v = state.setdefault(id(p), (torch.zeros_like(p), torch.zeros_like(p)))
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            denom = (v.sqrt() / math.sqrt(1 - b2**step)).add_(eps)
            p.addcdiv_(m, denom, value=-lr / (1 - b1**step))


def fit_logistic(features: torch.Tensor, y: torch.Tensor, l2: float,
                 max_steps: int = 100, tol: float = 1e-10) -> tuple[torch.Tensor, float]:
    """Binary logistic regression with the penalty (l2 / 2) |w|^2 (bias free), solved
    exactly by Newton's method in float64: (w, b), on the features' device.

    It is also the optimum of a 2-way softmax head with the penalty l2 (|W0|^2 + |W1|^2)
    (biases free): the softmax depends on W1 - W0 only, so the penalty puts the two rows
    opposite, W1 = -W0 = w / 2, and its logits differ by w . x + b (:func:`two_way_head`)."""
    x = torch.cat([features.double(), torch.ones(len(features), 1, dtype=torch.float64,
                                                 device=features.device)], 1)  # fmt: skip
    t = y.double()
    theta = torch.zeros(x.shape[1], dtype=torch.float64, device=x.device)
    ridge = torch.full((x.shape[1],), float(l2), dtype=torch.float64, device=x.device)
    ridge[-1] = 0.0  # the bias is not penalised
    for _ in range(max_steps):
        p = torch.sigmoid(x @ theta)
        grad = x.T @ (p - t) / len(t) + ridge * theta
        hess = (x.T * (p * (1 - p))) @ x / len(t) + torch.diag(ridge + 1e-12)
        step = torch.linalg.solve(hess, grad)
        theta = theta - step
        if float(step.abs().max()) < tol:
            break
    return theta[:-1], float(theta[-1])


def two_way_head(w: torch.Tensor, b: float, dtype=torch.float32) -> torch.nn.Linear:
    """The 2-way linear head whose logits differ by ``w . x + b`` (class 1 minus class 0)."""
    head = torch.nn.Linear(len(w), 2).to(device=w.device, dtype=dtype)
    with torch.no_grad():
        head.weight.copy_(torch.stack([-w / 2, w / 2]).to(dtype))
        head.bias.copy_(torch.tensor([-b / 2, b / 2], dtype=dtype, device=w.device))
    return head


__all__ = ["adam_step", "fit_logistic", "sgd_step", "two_way_head"]
