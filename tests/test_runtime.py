"""padpos.runtime: device, seeding, precision, BatchNorm re-estimation, provenance."""

import json
import time

import pytest
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


def test_versions_do_not_import_torchvision():
    """Provenance is written by every job: importing torchvision for its version string
    would add seconds (it pulls in torch._dynamo) to jobs that never use it."""
    import subprocess
    import sys

    code = ("import sys; from padpos.runtime import versions; v = versions(); "
            "assert v['torchvision'], v; assert 'torchvision' not in sys.modules")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- GPU slots of a local run
def _fresh_slots(monkeypatch):
    monkeypatch.setattr(runtime, "_held", {"gpus": None, "files": []})


def test_visible_gpus_are_read_without_cuda():
    assert runtime.visible_gpus({"CUDA_VISIBLE_DEVICES": "0,3"}) == ["0", "3"]
    assert runtime.visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert runtime.visible_gpus({"CUDA_VISIBLE_DEVICES": "1,-1,2"}) == ["1"]  # CUDA stops at -1


def test_a_job_claims_a_free_slot_and_narrows_the_visible_gpus(tmp_path, monkeypatch):
    import subprocess
    import sys

    env = {"CUDA_VISIBLE_DEVICES": "0,1", runtime.SLOT_DIR_ENV: str(tmp_path)}
    # another process holds GPU 0's slot
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl,sys,time; f=open(sys.argv[1],'a+'); "
                               "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
                               str(tmp_path / "gpu0.lock")], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        _fresh_slots(monkeypatch)
        assert runtime.claim_gpu_slots(1, env) == ["1"]
        assert env["CUDA_VISIBLE_DEVICES"] == "1" and env[runtime.HELD_ENV] == "1"
        assert runtime.claim_gpu_slots(1, env) == ["1"]  # held for the process's lifetime
    finally:
        holder.kill()
        holder.wait()
    # a child of the job (a torchrun worker) inherits the claim instead of claiming again
    _fresh_slots(monkeypatch)
    assert runtime.claim_gpu_slots(1, {runtime.HELD_ENV: "1", "CUDA_VISIBLE_DEVICES": "1"}) == ["1"]
    # under SLURM the allocation decides: nothing is claimed
    _fresh_slots(monkeypatch)
    slurm = {"SLURM_JOB_ID": "7", "CUDA_VISIBLE_DEVICES": "0,1", runtime.SLOT_DIR_ENV: str(tmp_path)}
    assert runtime.claim_gpu_slots(1, slurm) is None and slurm["CUDA_VISIBLE_DEVICES"] == "0,1"


@pytest.mark.workflow
def test_concurrent_snakemake_jobs_never_share_a_gpu_and_a_crash_frees_its_slot(tmp_path):
    """A real local Snakemake run of six GPU jobs with --resources gpu=2 on a faked list of
    two GPUs: jobs that overlap in time hold different slots, every job holds exactly one
    of the two, and the slot of the job that crashed is claimed again (nobody shares)."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    src = Path(__file__).parent / "data" / "gpu_slots"
    for name in ("Snakefile", "job.py"):
        shutil.copy(src / name, tmp_path / name)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "0,1", runtime.SLOT_DIR_ENV: str(tmp_path / "slots")}
    env.pop(runtime.HELD_ENV, None)
    env.pop("SLURM_JOB_ID", None)
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "4", "--resources", "gpu=2",
                           "--keep-going"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert proc.returncode != 0 and "Error in rule gpu_job" in proc.stderr  # job 1 crashed
    records = [json.loads((tmp_path / "out" / f"{i}.json").read_text()) for i in range(6) if i != 1]
    assert len(records) == 5
    for r in records:
        assert len(r["slot"]) == 1 and r["slot"][0] in ("0", "1") and r["visible"] == r["slot"][0]
    for a in records:
        for b in records:
            if a["job"] < b["job"] and a["start"] < b["end"] and b["start"] < a["end"]:
                assert a["slot"] != b["slot"], (a, b)
    logs = "".join((tmp_path / "logs" / f"{i}.log").read_text() for i in range(6))
    assert "no free GPU slot" not in logs  # the crashed job's slot was free again
    assert {r["slot"][0] for r in records} == {"0", "1"}


def test_progress_bars_are_throttled_in_batch_logs():
    import io

    from padpos import progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    env = {}
    assert progress.batch_friendly_progress(env, io.StringIO()) and env["TQDM_MININTERVAL"] == "60"
    assert not progress.batch_friendly_progress({}, Terminal())  # a terminal: tqdm's default
    env = {"SLURM_JOB_ID": "1"}
    assert progress.batch_friendly_progress(env, Terminal()) and env["TQDM_MININTERVAL"] == "60"
    assert not progress.batch_friendly_progress({"TQDM_MININTERVAL": "5"}, io.StringIO())  # the user's
