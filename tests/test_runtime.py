"""padpos.runtime: device, seeding, precision, BatchNorm re-estimation, provenance."""

import json
import time

import torch
from torch import nn

from padpos import runtime


def test_select_device_asks_for_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.select_device() == torch.device("cpu")


def test_seed_everything_makes_draws_repeat():
    runtime.seed_everything(5, torch.device("cpu"))
    a = torch.randn(3)
    runtime.seed_everything(5, torch.device("cpu"))
    assert torch.equal(a, torch.randn(3))
    assert torch.are_deterministic_algorithms_enabled()


def test_ieee_float32_turns_tf32_off_for_cuda_only():
    conv, matmul = torch.backends.cudnn.conv, torch.backends.cuda.matmul
    saved = conv.fp32_precision, matmul.fp32_precision
    try:
        conv.fp32_precision = matmul.fp32_precision = "tf32"
        runtime.ieee_float32(torch.device("cpu"))
        assert (conv.fp32_precision, matmul.fp32_precision) == ("tf32", "tf32")
        runtime.ieee_float32(torch.device("cuda"))
        assert (conv.fp32_precision, matmul.fp32_precision) == ("ieee", "ieee")
    finally:
        conv.fp32_precision, matmul.fp32_precision = saved


def test_recalibrate_batchnorm_uses_the_exact_mean_over_batches():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 2, 1, bias=False), nn.BatchNorm2d(2))
    x = torch.randn(20, 3, 4, 4) * 3 + 1
    runtime.recalibrate_batchnorm(net, x, batch_size=5)
    assert not net.training
    with torch.no_grad():
        means = torch.stack([net[0](b).mean((0, 2, 3)) for b in x.split(5)]).mean(0)
    torch.testing.assert_close(net[1].running_mean, means, rtol=0, atol=1e-5)
    assert net[1].momentum == 0.1  # restored


def test_provenance_records_what_a_job_ran_with(tmp_path):
    started = time.time() - 1.0
    prov = runtime.provenance({"seed": 1}, started, "cpu", rows=3)
    assert prov["spec"] == {"seed": 1} and prov["rows"] == 3 and prov["device"] == "cpu"
    assert prov["wall_time_s"] >= 1.0 and prov["threads"] == torch.get_num_threads()
    assert {"padpos", "python", "torch", "numpy", "pandas"} <= set(prov["versions"])
    assert {"host", "slurm_job_id", "cpu_time_s", "finished"} <= set(prov)
    path = runtime.provenance_path(tmp_path / "run.csv")
    assert path == tmp_path / "run.provenance.json"
    runtime.write_provenance(path, prov)
    assert json.loads(path.read_text())["spec"] == {"seed": 1}
