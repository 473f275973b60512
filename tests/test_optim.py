"""The optimisers written out in padpos.optim, against torch.optim and an independent fit."""

import copy

import pytest
import torch

from padpos.optim import adam_step, fit_logistic, sgd_step, two_way_head


def test_adam_step_matches_torch_optim_adam():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    ref = copy.deepcopy(net)
    opt = torch.optim.Adam(ref.parameters(), lr=0.01, betas=(0.5, 0.999), eps=1e-8)
    state, x, y = {}, torch.randn(8, 5), torch.randint(0, 3, (8,))
    for step in range(1, 6):
        for model in (net, ref):
            model.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
        adam_step(list(net.parameters()), state, 0.01, step, (0.5, 0.999), 1e-8)
        opt.step()
    for a, b in zip(net.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_sgd_step_matches_torch_optim_sgd():
    torch.manual_seed(0)
    a = [torch.randn(3, 4, requires_grad=True), torch.randn(4, requires_grad=True)]
    b = [t.detach().clone().requires_grad_(True) for t in a]
    opt = torch.optim.SGD(b, lr=0.1, momentum=0.9, weight_decay=1e-4)
    buffers = [torch.zeros_like(t) for t in a]
    for _ in range(3):
        x = torch.randn(5, 3)
        for params in (a, b):
            for p in params:
                p.grad = None
            ((x @ params[0] + params[1]) ** 2).sum().backward()
        sgd_step(a, buffers, 0.1, 0.9, 1e-4)
        opt.step()
    for pa, pb in zip(a, b):
        assert torch.allclose(pa, pb, atol=1e-6)


def test_newton_logistic_fit_is_the_optimum_of_the_penalised_softmax_head():
    """fit_logistic solves the binary problem; an L-BFGS fit of the 2-way softmax head with
    the penalty l2 |W|^2 (the location test's head) reaches the same logit difference,
    and two_way_head turns (w, b) into that head."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(80, 6, generator=gen)
    y = ((x[:, 0] + 0.5 * torch.randn(80, generator=gen)) > 0).long()
    w, b = fit_logistic(x, y, 1e-3)
    head = torch.nn.Linear(6, 2)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    opt = torch.optim.LBFGS(head.parameters(), max_iter=500, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(x), y) + 1e-3 * head.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        assert torch.allclose(w.float(), head.weight[1] - head.weight[0], atol=1e-3)
        assert b == pytest.approx(float(head.bias[1] - head.bias[0]), abs=1e-3)
        ours = two_way_head(w, b)(x)
        assert torch.allclose(ours[:, 1] - ours[:, 0], (x.double() @ w + b).float(), atol=1e-5)
    # a separable problem stays finite (the ridge)
    w, _ = fit_logistic(x, (x[:, 0] > 0).long(), 1e-3)
    assert torch.isfinite(w).all()
