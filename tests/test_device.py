"""F-Conv on the selected device: sums kept on the device, read once per pass."""

import pytest
import torch

from padpos.stages.fconv_redgreen import redgreen as rg


@pytest.fixture
def host_reads(monkeypatch):
    calls = []
    for name in ("item", "cpu", "tolist", "__float__", "__int__", "__bool__"):
        real = getattr(torch.Tensor, name)

        def counting(self, *a, _real=real, _name=name, **k):
            calls.append(_name)
            return _real(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counting)
    return calls


def _data(n=40):
    gen = torch.Generator().manual_seed(0)
    return torch.rand(n, 3, 16, 16, generator=gen), torch.arange(n) % 2


def test_redgreen_epoch_and_evaluation_read_back_once(host_reads):
    torch.manual_seed(0)
    net = rg.RedGreenNet("zeros")
    X, y = _data()
    opt = torch.optim.Adadelta(net.parameters())
    loss = rg.train_epoch(net, opt, X, y, batch_size=5)  # 8 steps
    assert host_reads == ["item"]
    host_reads.clear()
    eval_loss, acc = rg.loss_and_accuracy(net, X, y, batch_size=10)  # 4 batches
    assert sorted(host_reads) == ["item", "item"]
    assert loss > 0 and 0 <= acc <= 100


def test_redgreen_numbers_equal_a_direct_computation():
    torch.manual_seed(0)
    net = rg.RedGreenNet("zeros")
    X, y = _data()
    loss, acc = rg.loss_and_accuracy(net, X, y, batch_size=7)
    with torch.no_grad():
        logits = net(X)
    assert loss == pytest.approx(torch.nn.functional.cross_entropy(logits, y).item(), rel=1e-6)
    assert acc == pytest.approx(100.0 * (logits.argmax(1) == y).double().mean().item())


def test_redgreen_runs_on_an_explicit_device():
    spec = {"variant": "zeros", "seeds": [0], "max_epochs": 1, "patience": 1, "batch_size": 10,
            "sizes": {"train": 20, "val": 10, "test": 10}}  # fmt: skip
    default = rg.run_variant(spec)
    explicit = rg.run_variant(spec, device="cpu")
    assert default["accuracy"].tolist() == explicit["accuracy"].tolist()
