"""The workflow on a real SLURM cluster: profiles/slurm through sbatch, end to end.

The `slurm` tests bring up a single-node cluster on this machine with
.ci/slurm-up.sh (Debian packages, as root) and stop, at the end, exactly the
daemons that script started. They run config/test.yaml through the SLURM profile
in a temporary copy of the workflow and check that every non-local job went
through sbatch, that the results equal a local run's, and that a failing job is
reported as failed. Without root or apt they skip; with CI=true they fail instead.

The CI cluster has 2 CPUs, no GPU and no accounting database, so the tests use
profiles/slurm with exactly those differences applied (`ci_profile`); the real
profile stays GPU-ready, which the fast profile tests below check.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_helpers import copy_workflow as fresh_copy
from workflow_helpers import logged_jobs

REPO = Path(__file__).resolve().parents[1]
SLURM_UP, SLURM_DOWN = REPO / ".ci/slurm-up.sh", REPO / ".ci/slurm-down.sh"
SLURM_DIR = Path(os.environ.get("SLURM_CI_DIR", "/tmp/padpos-slurm"))
# the test cluster's configuration, and the link to it where SLURM's tools look; both
# go with the cluster, so that a later `snakemake` on this machine never waits for the
# controller of a cluster that is gone
SLURM_CONF = SLURM_DIR / "etc" / "slurm.conf"
SLURM_CONF_LINK = Path("/etc/slurm/slurm.conf")
CONF_HEADER = "# Written by padpos .ci/slurm-up.sh"
TRIVIAL_SNAKEFILE = 'rule all:\n    output:\n        "done.txt",\n    shell:\n        "touch {output}"\n'
DAEMONS = ("munged", "slurmctld", "slurmd")
FAILING_WORKFLOW = REPO / "tests/data/slurm_fail/Snakefile"
TIMEOUT_WORKFLOW = REPO / "tests/data/slurm_timeout/Snakefile"

# rules that get a GPU on a real cluster (profiles/slurm set-resources)
GPU_RULES = ("train", "ppp", "posenet", "posenet_alone", "canvas")
# tiny nets: CPU jobs on a cluster, though they claim a GPU locally (CUDA when present), so
# the profile must turn their claim off explicitly (gpu: 0)
CPU_RULES = ("fconv_redgreen", "fconv_location")
# rules that must run on the submit host: cheap, and downloads need the internet
LOCAL_RULE_PREFIXES = ("download_", "table", "figure")

# What the CI cluster needs that a real one does not; everything else is profiles/slurm.
CI_CLUSTER_SETTINGS = {
    "latency-wait": 5,  # one node, no shared file system delays
    "slurm-status-command": "squeue",  # no slurmdbd, so sacct cannot answer
    "slurm-init-seconds-before-status-checks": 1,
    "slurm-keep-successful-logs": True,  # the tests read every job's SLURM log
}
# Resource keys that name things of one particular cluster (or its GPUs).
CLUSTER_SPECIFIC = {
    "slurm_partition",
    "slurm_account",
    "constraint",
    "qos",
    "gres",
    "gpu_model",
    "cpus_per_gpu",
}
# Small enough that two jobs fit the CI node (2 CPUs) at once.
CI_JOB_SIZE = {"mem_mb": 1500, "runtime": "10 * attempt", "cpus_per_task": 1}

# config/test.yaml with one seed: every rule still runs, with fewer jobs (each SLURM job
# costs ~30 s of submission and status polling here, whatever its size)
STUDY_ARGS = ["--configfile", "config/test.yaml", "one_seed.yaml"]

SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (.+?)\)\.")
JOB_HEADER = re.compile(r"^(localrule|rule) (\w+):\n(?:    .*\n)*?    jobid: (\d+)$", re.M)
TIMING_COLUMNS = re.compile(r"wall|seconds|time_s|host|date|finished")


# ---------------------------------------------------------------- profiles
def load_profile(name: str) -> dict:
    return yaml.safe_load((REPO / "profiles" / name / "config.yaml").read_text())


def ci_profile(real: dict) -> dict:
    """profiles/slurm adapted to the CI cluster: no GPU request, one thread per job
    (the local run's threads, so results compare exactly), small memory, no
    cluster-specific partition/account, and the status settings its lack of an
    accounting database needs."""

    def for_ci(resources: dict) -> dict:
        kept = {k: v for k, v in resources.items() if k not in CLUSTER_SPECIFIC}
        return {**kept, **CI_JOB_SIZE}

    profile = {**real, **CI_CLUSTER_SETTINGS}
    profile["default-resources"] = for_ci(real.get("default-resources", {}))
    profile["set-resources"] = {
        rule: {**for_ci(res), "gpu": 0} for rule, res in real.get("set-resources", {}).items()
    }
    profile["set-threads"] = {rule: 1 for rule in real.get("set-threads", {})}
    return profile


def test_slurm_profile_requests_a_gpu_for_every_gpu_rule():
    profile = load_profile("slurm")
    assert profile["executor"] == "slurm"
    for rule in GPU_RULES:
        res = profile["set-resources"].get(rule)
        assert res, f"profiles/slurm: set-resources has no entry for GPU rule '{rule}'"
        assert res.get("gpu", 0) >= 1 or "gpu" in str(res.get("gres", "")), f"'{rule}' requests no GPU"
    for rule in CPU_RULES:
        res = profile["set-resources"].get(rule, {})
        assert res.get("gpu") == 0 and "gpu" not in str(res.get("gres", "")), f"'{rule}' would idle a GPU"
    assert profile["retries"] >= 1 and profile["rerun-incomplete"] is True


def test_default_profile_puts_no_limit_on_cluster_runs():
    profile = load_profile("default")
    # a global resource limit here would also throttle --profile profiles/slurm runs
    assert not {"resources", "executor", "default-resources", "set-resources", "jobs"} & set(profile)
    assert profile["keep-going"] is False and profile["rerun-incomplete"] is True


def test_ci_profile_only_turns_the_gpu_off_and_shrinks_jobs():
    real = load_profile("slurm")
    ci = ci_profile(real)
    assert set(ci["set-resources"]) == set(real["set-resources"])
    assert all(res["gpu"] == 0 for res in ci["set-resources"].values())
    # a job asking for more CPUs than the CI node has would pend forever (PartitionConfig)
    assert all(res["cpus_per_task"] == 1 for res in ci["set-resources"].values())
    unchanged = set(real) - set(CI_CLUSTER_SETTINGS) - {"default-resources", "set-resources", "set-threads"}
    assert {k: ci[k] for k in unchanged} == {k: real[k] for k in unchanged}


@pytest.mark.workflow
def test_slurm_profile_gives_the_workflow_its_resources(tmp_path):
    work = copy_workflow(tmp_path)
    args = ["figures/all", "-n", "--workflow-profile", "profiles/slurm", "--configfile", "config/test.yaml"]
    code, text = run_snakemake(work, args, timeout=120)
    assert code == 0, text[-4000:]
    train = [m for m in re.finditer(r"^rule train:\n((?:    .*\n)+)", text, re.M)]
    assert train and all("gpu=1" in m.group(1) and "runtime=720" in m.group(1) for m in train)
    # the profile, not the rules' local claim (GPU_JOB), decides: F-Conv jobs ask for no GPU
    planned = {(job["rule"], job["resources"].get("gpu")) for job in logged_jobs(text).values()}
    assert {(r, "0") for r in CPU_RULES} | {(r, "1") for r in GPU_RULES} <= planned, planned
    assert not {(r, g) for r, g in planned if r in CPU_RULES + GPU_RULES and g != ("1" if r in GPU_RULES else "0")}


def declared_localrules(text: str) -> set[str]:
    """Rule names of every `localrules:` directive in a Snakefile's text (one-line or block)."""
    names = set()
    for m in re.finditer(r"^localrules:[ \t]*(.*)\n((?:[ \t]+.*\n?)*)", text, re.M):
        names |= {n.strip() for n in (m.group(1) + "," + m.group(2)).replace("\n", ",").split(",") if n.strip()}
    return names


def test_light_rules_are_local_rules():
    """Tables, figures and downloads must be local rules (`localrule: True` in the rule, or
    listed in a `localrules:` directive): on a cluster they belong on the submit host
    (downloads need its internet), not in the queue."""
    files = [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]
    declared = set().union(*(declared_localrules(f.read_text()) for f in files))
    offenders = []
    for smk in files:
        # a rule's block runs from its header to the next line at the header's indent or less
        # (`use rule X as Y with:` blocks too: Snakemake does not carry `localrule` over)
        pattern = r"^( *)(?:rule |use rule \w+ as )(\w+)(?: with)?:\n((?:\1 .*\n|\s*\n)*)"
        for m in re.finditer(pattern, smk.read_text(), re.M):
            name, body = m.group(2), m.group(3)
            local = name in declared or re.search(r"^\s+localrule: True$", body, re.M)
            if name.startswith(LOCAL_RULE_PREFIXES) and not local:
                offenders.append(f"{smk.name}: {name}")
    assert not offenders, f"add `localrule: True` to: {', '.join(offenders)}"
    assert declared_localrules("localrules: a, b\n\nlocalrules:\n    c,\n    d,\n") == {"a", "b", "c", "d"}


# ---------------------------------------------------------------- helpers
def copy_workflow(dest: Path) -> Path:
    """A fresh copy of the workflow (with one_seed.yaml, the STUDY_ARGS override)."""
    fresh_copy(dest)
    (dest / "one_seed.yaml").write_text("seeds: [0]\n")
    return dest


def start_snakemake(workdir: Path, args: list[str], niceness: int = 0) -> subprocess.Popen:
    """Start Snakemake in `workdir`, its output going to workdir/snakemake.out."""
    with open(workdir / "snakemake.out", "w") as out:
        return subprocess.Popen(
            ["nice", "-n", str(niceness), sys.executable, "-m", "snakemake", *args],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def finish_snakemake(proc: subprocess.Popen, workdir: Path, timeout: int) -> tuple[int, str]:
    """Wait for a started Snakemake; return (exit code, output). Past `timeout`, stop
    it and cancel its SLURM jobs (named after its SLURM run ID), then fail."""
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        text = (workdir / "snakemake.out").read_text()
        for run_id in re.findall(r"SLURM run ID: (\S+)", text):
            subprocess.run(["scancel", f"--name={run_id}"], timeout=30)
        raise AssertionError(f"snakemake {' '.join(proc.args)} ran over {timeout} s:\n{text[-6000:]}")
    return code, (workdir / "snakemake.out").read_text()


def stop(proc: subprocess.Popen) -> None:
    """Stop a started Snakemake and everything it started (its own session)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_snakemake(workdir: Path, args: list[str], timeout: int) -> tuple[int, str]:
    return finish_snakemake(start_snakemake(workdir, args), workdir, timeout)


def job_rules(text: str) -> dict[int, tuple[str, bool]]:
    """Snakemake job id -> (rule, ran locally) from the job headers of a run's log."""
    return {int(jobid): (rule, kind == "localrule") for kind, rule, jobid in JOB_HEADER.findall(text)}


def submissions(text: str) -> list[tuple[int, str, Path]]:
    """(Snakemake job id, SLURM job id, SLURM log file) of every sbatch submission."""
    return [(int(job), slurm_id, Path(log)) for job, slurm_id, log in SUBMITTED.findall(text)]


def slurm_job_states(slurm_ids: list[str]) -> dict[str, tuple[str, str]]:
    """SLURM job id -> (state, comment), as the controller itself reports them."""
    proc = subprocess.run(
        ["squeue", "-h", "-t", "all", "-j", ",".join(slurm_ids), "-o", "%i|%T|%k"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("|", 2) for line in proc.stdout.splitlines() if line.strip()]
    return {job: (state, comment) for job, state, comment in rows}


def comparable(csv: Path) -> pd.DataFrame:
    """A result CSV without columns that legitimately differ between runs (timings, hosts)."""
    df = pd.read_csv(csv)
    return df.drop(columns=[c for c in df.columns if TIMING_COLUMNS.search(c)])


# ---------------------------------------------------------------- the cluster
def why_slurm_cannot_run() -> str | None:
    """Why this machine cannot bring up the test cluster, or None if it can."""
    if not sys.platform.startswith("linux"):
        return "the SLURM test cluster needs Linux"
    if os.geteuid() != 0:
        return "bringing up the SLURM test cluster needs root (it installs packages and starts daemons)"
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        return "SLURM is not installed and there is no apt-get to install it"
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is missing: pip install -e '.[slurm]'"
    return None


def recorded_pids() -> dict[str, str]:
    """Daemon name -> pid that slurm-up.sh recorded as started by itself."""
    files = {name: SLURM_DIR / "run" / f"{name}.pid" for name in DAEMONS}
    return {name: f.read_text().strip() for name, f in files.items() if f.is_file()}


def trivial_dry_run_seconds(folder: Path, env: dict, tries: int = 3) -> float:
    """Best wall time of `snakemake -n` on a three-line Snakefile (Snakemake's start-up,
    which includes the SLURM executor plugin's `scontrol show config`)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Snakefile").write_text(TRIVIAL_SNAKEFILE)
    best = float("inf")
    for _ in range(tries):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", "--cores", "1"],
            cwd=folder, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        best = min(best, time.perf_counter() - t0)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return best


class Cluster:
    """The running test cluster; `stop()` stops exactly the daemons it started (idempotent)."""

    def __init__(self, started: list[str], env: dict, dry_run_before: float):
        self.started, self.env, self.dry_run_before = started, env, dry_run_before

    def stop(self) -> None:
        if self.started:  # exactly the daemons this session started, by their recorded pids
            subprocess.run(["bash", str(SLURM_DOWN), *self.started], timeout=120, env=self.env)
            self.started = []


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A running single-node SLURM cluster; stops, at the end, what it started."""
    reason = why_slurm_cannot_run()
    if reason:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI is set, but the SLURM test cannot run: {reason}")
        pytest.skip(reason)
    # measured before anything of SLURM's is here (or with what an earlier run left)
    dry_run_before = trivial_dry_run_seconds(tmp_path_factory.mktemp("trivial-before"), dict(os.environ))
    before = recorded_pids()
    t0 = time.time()
    env = {**os.environ, "SLURM_CI_DIR": str(SLURM_DIR)}
    up = subprocess.run(["bash", str(SLURM_UP)], capture_output=True, text=True, timeout=900, env=env)
    cluster = Cluster([name for name, pid in recorded_pids().items() if before.get(name) != pid], env, dry_run_before)
    try:
        assert up.returncode == 0, f".ci/slurm-up.sh failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
        print(f"SLURM up in {time.time() - t0:.0f} s (started: {', '.join(cluster.started) or 'nothing'})")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def ci_profile_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("slurm-ci-profile")
    (folder / "config.yaml").write_text(yaml.safe_dump(ci_profile(load_profile("slurm"))))
    return folder


@pytest.fixture(scope="module")
def runs(slurm_cluster, ci_profile_dir, tmp_path_factory) -> dict:
    """figures/all of the study, run twice at the same time in fresh copies: through
    SLURM, and locally (profiles/default) as the reference. The local run is niced:
    it takes the CPU that the cluster's jobs leave idle while Snakemake polls them."""
    slurm_work = copy_workflow(tmp_path_factory.mktemp("slurm-wf"))
    local_work = copy_workflow(tmp_path_factory.mktemp("local-wf"))
    t0 = time.time()
    # the target comes first: --configfile would swallow it as another config file
    local = start_snakemake(local_work, ["figures/all", "--cores", "2", *STUDY_ARGS], niceness=10)
    try:
        args = ["figures/all", "--workflow-profile", str(ci_profile_dir), *STUDY_ARGS]
        code, slurm_text = run_snakemake(slurm_work, args, timeout=1800)
        assert code == 0, f"the SLURM run failed:\n{slurm_text[-6000:]}"
        print(f"test study through SLURM in {time.time() - t0:.0f} s")
        code, local_text = finish_snakemake(local, local_work, timeout=1200)
        assert code == 0, f"the local run failed:\n{local_text[-6000:]}"
        print(f"... and locally, alongside, in {time.time() - t0:.0f} s")
    finally:
        stop(local)
    return {"slurm": slurm_work, "slurm_log": slurm_text, "local": local_work}


# ---------------------------------------------------------------- the tests
@pytest.mark.slurm
def test_every_cluster_job_went_through_sbatch(runs):
    work, text = runs["slurm"], runs["slurm_log"]
    jobs = job_rules(text)
    remote = {job for job, (_, local) in jobs.items() if not local}
    submitted = submissions(text)
    # one submission per non-local job, none for local ones, none twice
    assert sorted(job for job, _, _ in submitted) == sorted(remote), text[-6000:]
    rules_run = {rule for rule, _ in jobs.values()}
    assert {"prepare_data", "train"} <= {jobs[job][0] for job in remote}
    for rule, local in jobs.values():
        if rule.startswith(LOCAL_RULE_PREFIXES):
            assert local, f"rule '{rule}' was sent to SLURM; mark it `localrule: True`"
    assert any(r.startswith("table") for r in rules_run) and "figures_all" in rules_run

    slurm_ids = [slurm_id for _, slurm_id, _ in submitted]
    assert len(set(slurm_ids)) == len(slurm_ids)
    for _, _, log in submitted:
        assert log.is_file() and log.is_relative_to(work / ".snakemake/slurm_logs"), log
    states = slurm_job_states(slurm_ids)
    for job, slurm_id, _ in submitted:
        state, comment = states[slurm_id]
        assert state == "COMPLETED", (slurm_id, state)
        assert comment.startswith(f"rule_{jobs[job][0]}"), (slurm_id, comment)

    # each training job recorded the SLURM job it ran in
    train_ids = {slurm_id for job, slurm_id, _ in submitted if jobs[job][0] == "train"}
    provenances = list(work.glob("results/test/train/*/*/*/provenance.json"))
    assert {json.loads(p.read_text())["slurm_job_id"] for p in provenances} == train_ids


@pytest.mark.slurm
def test_cluster_results_equal_local_results(runs):
    cluster, local = runs["slurm"], runs["local"]
    csvs = sorted(p.relative_to(local) for p in (local / "results").rglob("*.csv"))
    assert any(p.parts[:3] == ("results", "test", "tables") for p in csvs)
    assert sorted(p.relative_to(cluster) for p in (cluster / "results").rglob("*.csv")) == csvs
    # cost.csv sums the jobs' wall times (Snakemake benchmarks): it measures the run, not the science
    for rel in (p for p in csvs if p.name != "cost.csv"):
        pd.testing.assert_frame_equal(comparable(cluster / rel), comparable(local / rel), obj=str(rel))
    # ... but it is built on the cluster too, from one benchmark per job of the study
    cost = pd.read_csv(cluster / "results" / "test" / "tables" / "cost.csv")
    assert set(cost["rule"]) == set(pd.read_csv(local / "results" / "test" / "tables" / "cost.csv")["rule"])


@pytest.mark.slurm
def test_failing_job_is_reported_failed(slurm_cluster, ci_profile_dir, tmp_path):
    shutil.copy2(FAILING_WORKFLOW, tmp_path / "Snakefile")
    # one retry instead of the profile's two: each attempt costs ~30 s of status polling
    args = ["--workflow-profile", str(ci_profile_dir), "--retries", "1"]
    code, text = run_snakemake(tmp_path, args, timeout=600)
    assert code != 0
    assert "Error in rule fail" in text
    jobs = job_rules(text)
    attempts = [slurm_id for job, slurm_id, _ in submissions(text) if jobs[job][0] == "fail"]
    # a retry is a new SLURM job, and each attempt failed
    assert len(attempts) == 2, text[-4000:]
    states = slurm_job_states(attempts)
    assert all(states[slurm_id][0] == "FAILED" for slurm_id in attempts), states
    last_log = next(log for job, slurm_id, log in submissions(text) if slurm_id == attempts[-1])
    assert "deliberate failure" in last_log.read_text()
    # keep-going: the independent job still finished; the failed one left no output
    assert (tmp_path / "ok.txt").read_text() == "ok\n"
    assert not (tmp_path / "fail.txt").exists()


@pytest.mark.slurm
def test_a_job_stopped_at_its_time_limit_is_retried_and_resumes(slurm_cluster, ci_profile_dir, tmp_path):
    """A training job longer than its first attempt's 1-minute limit: SLURM sends SIGTERM
    at the limit, the training saves the step it is in and exits (padpos.stages.train.
    preemption), Snakemake retries it as a new SLURM job with a longer limit, and the
    retry resumes from the saved step and completes."""
    shutil.copy2(TIMEOUT_WORKFLOW, tmp_path / "Snakefile")
    # the CI profile, with the train rule's first attempt limited to one minute and without
    # the early signal (which a 1-minute limit would send at once)
    profile = yaml.safe_load((ci_profile_dir / "config.yaml").read_text())
    train = profile["set-resources"]["train"]
    train["runtime"] = "1 if attempt == 1 else 30"
    train.pop("slurm_extra", None)
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile" / "config.yaml").write_text(yaml.safe_dump(profile))
    args = ["--workflow-profile", str(tmp_path / "profile"), "--retries", "1"]
    code, text = run_snakemake(tmp_path, args, timeout=2400)
    assert code == 0, text[-4000:]
    jobs = job_rules(text)
    attempts = [slurm_id for job, slurm_id, _ in submissions(text) if jobs[job][0] == "train"]
    assert len(attempts) == 2, text[-4000:]
    states = slurm_job_states(attempts)
    assert states[attempts[0]][0] in ("TIMEOUT", "FAILED"), states  # stopped at its limit
    assert states[attempts[1]][0] == "COMPLETED", states
    # the retry resumed mid-epoch: only the signal handler saves a state after step > 0 (the
    # epoch-end saves have step 0); the first attempt's own log lines do not survive its retry
    log = (tmp_path / "train.log").read_text()
    assert re.search(r"resuming from epoch step [1-9][0-9]* of epoch [0-9]+", log), log[-3000:]
    assert (tmp_path / "run" / "model.pt").is_file()


# ---------------------------------------------------------------- last: no trace left
@pytest.mark.slurm
def test_cluster_leaves_no_trace(slurm_cluster, tmp_path):
    """After the cluster is stopped, a plain `snakemake -n` on this machine is as fast as
    before it was brought up (a stale slurm.conf made it wait ~10 s for a dead controller).
    Kept last in this file: it stops the session's cluster."""
    if "slurmctld" in slurm_cluster.started:  # (a cluster found running is not ours to stop)
        assert SLURM_CONF.read_text().startswith(CONF_HEADER)
        assert SLURM_CONF_LINK.is_symlink() and SLURM_CONF_LINK.resolve() == SLURM_CONF.resolve()
        slurm_cluster.stop()
        assert not SLURM_CONF.exists(), "slurm-down.sh left the cluster's configuration behind"
        assert not SLURM_CONF_LINK.is_symlink(), f"slurm-down.sh left {SLURM_CONF_LINK} behind"
    after = trivial_dry_run_seconds(tmp_path, dict(os.environ))
    before = slurm_cluster.dry_run_before
    print(f"trivial snakemake -n: {before:.2f} s before the cluster, {after:.2f} s after it")
    # a ratio with slack for a busy machine; the stale configuration made it ~7x slower
    assert after < 2.0 * before + 1.0, (before, after)
