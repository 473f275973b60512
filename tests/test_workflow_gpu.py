"""GPU scheduling: every rule whose command computes on CUDA when a GPU is present claims
the `gpu` resource (GPU_JOB in workflow/rules/common.smk), so that `--resources gpu=1`
runs one such job at a time, and profiles/slurm maps every claim.

The claims are read off a dry run's planned resources; that the scheduler honours them is
checked in a real (small) run of the test study with `--resources gpu=1` on 2 cores: the
run's own log stamps when each job started and finished, and no two GPU jobs may overlap.
"""

import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from workflow_helpers import REPO, copy_workflow, logged_jobs, overlapping, snakemake

# the rules whose commands call padpos.runtime.select_device (CUDA when present)
CUDA_RULES = {"train", "ppp", "posenet", "posenet_alone", "canvas", "fconv_redgreen", "fconv_location"}
TEST_STUDY = ["--configfile", "config/test.yaml"]


def gpu_claims(jobs: dict) -> dict[str, set[int]]:
    """Rule -> the `gpu` amounts its jobs claim (0 when a job claims none)."""
    claims: dict[str, set[int]] = {}
    for job in jobs.values():
        claims.setdefault(job["rule"], set()).add(int(job["resources"].get("gpu", 0)))
    return claims


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """The jobs of a dry run of the whole test study (every rule appears)."""
    work = copy_workflow(tmp_path_factory.mktemp("gpu_dry"))
    proc = snakemake(work, "-n", "figures/all", *TEST_STUDY)
    return logged_jobs(proc.stdout + proc.stderr)


@pytest.mark.workflow
def test_exactly_the_cuda_rules_claim_one_gpu(planned):
    claims = gpu_claims(planned)
    assert CUDA_RULES <= set(claims), f"rules missing from the test study: {CUDA_RULES - set(claims)}"
    for rule, amounts in claims.items():
        assert amounts == ({1} if rule in CUDA_RULES else {0}), f"rule {rule} claims gpu={amounts}"


@pytest.mark.workflow
def test_a_rule_claims_a_gpu_only_if_its_code_can_pick_cuda(planned):
    """A claim on a CPU-only rule would serialise it behind the GPU jobs for nothing: a
    claiming rule's code inputs (padpos.workflow.codedeps) call select_device()."""
    calls = re.compile(r"(?<!def )\bselect_device\(")
    for job in planned.values():
        if int(job["resources"].get("gpu", 0)):
            code = [Path(f) for f in job["input"] if f.endswith(".py")]
            assert any(calls.search(f.read_text()) for f in code), f"{job['rule']}: no select_device() in {code}"


@pytest.mark.workflow
def test_the_slurm_profile_maps_every_gpu_claim(planned):
    """A claiming rule left out of profiles/slurm's set-resources would ask SLURM for its
    own claim, a GPU (and pend forever on a CPU-only partition)."""
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    claiming = {rule for rule, amounts in gpu_claims(planned).items() if amounts != {0}}
    missing = claiming - {r for r, res in profile["set-resources"].items() if "gpu" in res}
    assert not missing, f"profiles/slurm set-resources sets no gpu for {sorted(missing)}"


def test_overlap_detection_on_a_made_up_log():
    """The check below can fail: two GPU jobs in the same seconds are found."""
    log = (
        "[Wed Dec  2 10:00:00 2026]\nlocalrule train:\n    jobid: 1\n    resources: tmpdir=/tmp, gpu=1\n"
        "[Wed Dec  2 10:00:01 2026]\nlocalrule ppp:\n    jobid: 2\n    resources: tmpdir=/tmp, gpu=1\n"
        "[Wed Dec  2 10:00:05 2026]\nFinished jobid: 1 (Rule: train)\n"
        "[Wed Dec  2 10:00:05 2026]\nlocalrule canvas:\n    jobid: 3\n    resources: tmpdir=/tmp, gpu=1\n"
        "[Wed Dec  2 10:00:06 2026]\nFinished jobid: 2 (Rule: ppp)\n"
        "[Wed Dec  2 10:00:09 2026]\nFinished jobid: 3 (Rule: canvas)\n"
    )
    jobs = logged_jobs(log)
    assert jobs[1] == {"rule": "train", "input": [], "resources": {"tmpdir": "/tmp", "gpu": "1"},
                       "start": datetime(2026, 12, 2, 10, 0, 0), "end": datetime(2026, 12, 2, 10, 0, 5)}  # fmt: skip
    # 1 and 2 overlap, 2 and 3 overlap; 3 starting in the second 1 ended does not overlap it
    assert overlapping(jobs) == [(1, 2), (2, 3)]


@pytest.mark.workflow
def test_one_gpu_job_at_a_time_with_resources_gpu_1(tmp_path):
    """Every job that needs only the data: two training runs, three PosENet-alone readouts
    (GPU jobs) and the reliability reference (a CPU job), on 2 cores with gpu=1."""
    work = copy_workflow(tmp_path)
    targets = [
        *(f"results/test/train/small_resnet/{p}/seed0/model.pt" for p in ("zeros", "circular")),
        *(f"results/test/posenet_alone/pad{p}/seed0/posenet.csv" for p in (0, 1, 2)),
        "results/test/reliability/reference.csv",
    ]
    proc = snakemake(work, *targets, *TEST_STUDY, "--config", "seeds=[0]", "--resources", "gpu=1")
    jobs = logged_jobs(proc.stdout + proc.stderr)
    gpu_jobs = {i: j for i, j in jobs.items() if int(j["resources"].get("gpu", 0))}
    assert sorted(j["rule"] for j in gpu_jobs.values()) == ["posenet_alone"] * 3 + ["train"] * 2
    assert all(j["end"] is not None for j in jobs.values()), "a job's end is missing from the log"
    assert overlapping(gpu_jobs) == [], {i: jobs[i] for pair in overlapping(gpu_jobs) for i in pair}
    # the second core was used meanwhile: the limit, not a lack of cores, kept them apart
    cpu_job = next(i for i, j in jobs.items() if j["rule"] == "reliability_reference")
    assert any(cpu_job in pair for pair in overlapping(jobs)), jobs
