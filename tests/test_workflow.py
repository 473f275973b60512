"""Workflow tests: Snakemake itself on the tiny test config (dry-run DAG, lint,
end to end, incremental rebuild, bad configs stopped before any job).

The end-to-end run happens once, in a temporary copy of the workflow, and the
incremental-rebuild tests reuse it.
"""

import os
import shutil
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from workflow_helpers import copy_workflow, planned_jobs, snakemake, backbone_runs

pytestmark = pytest.mark.workflow

@pytest.fixture(scope="module")
def built(repo, tmp_path_factory):
    """figures/all of config/test.yaml, built once in a temporary copy."""
    work = copy_workflow(tmp_path_factory.mktemp("wf"))
    t0 = time.time()
    snakemake(work, "figures/all", "--configfile", "config/test.yaml")
    return work, time.time() - t0


def test_dry_run_lists_a_train_job_per_padding_and_seed(repo, tmp_path):
    work = copy_workflow(tmp_path)
    cfg = yaml.safe_load((repo / "config.yaml").read_text())
    proc = snakemake(work, "-n", "figures/all")
    jobs = planned_jobs(proc.stdout + proc.stderr)
    assert jobs["train"] == len(cfg["paddings"]) * len(cfg["seeds"]) * len(cfg["archs"])
    assert jobs["figures_all"] == 1


# the one lint the workflow answers by design: every rule runs in the one environment the
# install command builds (README "Install"); per-rule conda envs / containers are deployment
# paths that cannot be tested here, so the workflow declares none
ONE_ENVIRONMENT_LINT = "Specify a conda environment or container for each rule."


def test_lint_is_clean(repo, tmp_path):
    work = copy_workflow(tmp_path)
    proc = snakemake(work, "--lint", check=False)
    text = proc.stdout + proc.stderr
    titles = set(re.findall(r"^    \* (.+?):?$", text, re.M))
    assert titles <= {ONE_ENVIRONMENT_LINT}, text
    # snakemake --lint exits 1 when it printed any lint: then only that one may be printed
    assert proc.returncode == 0 or (titles and "Error" not in text), text


def test_snakefmt_is_clean(repo):
    files = ["Snakefile", *map(str, sorted((repo / "workflow/rules").glob("*.smk")))]
    proc = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", *files], cwd=repo, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "override, key",
    [
        ("paddings=[zeros,mirror]", "paddings[1]"),
        ("train={'epochs': -1}", "train.epochs"),
        ("data={'dataset': 'imagefolder', 'path': '/no/such/dir'}", "data.path"),
    ],
)
def test_bad_config_stops_before_any_job(repo, tmp_path, override, key):
    work = copy_workflow(tmp_path)
    proc = snakemake(
        work, "figures/all", "--configfile", "config/test.yaml", "--config", override, check=False
    )
    assert proc.returncode != 0
    assert f"'{key}'" in proc.stdout + proc.stderr
    assert not (work / "results").exists()


def test_end_to_end_builds_every_figure(built):
    work, seconds = built
    index = (work / "figures" / "all").read_text().splitlines()[1:]
    paths = [line.split("\t")[0] for line in index]
    assert "figures/test/training.png" in paths and "results/test/tables/training.csv" in paths
    assert "results/test/environment.txt" in paths
    own = ("figures/test/", "results/test/tables/", "results/test/environment.txt")
    assert all(p.startswith(own) for p in paths), paths
    # every figure also as a vector PDF, from the same rule
    pngs = {p[: -len(".png")] for p in paths if p.endswith(".png")}
    assert pngs and pngs == {p[: -len(".pdf")] for p in paths if p.endswith(".pdf")}, paths
    for p in paths:
        assert (work / p).stat().st_size > 0
    cfg = yaml.safe_load((work / "config/test.yaml").read_text())
    for padding in cfg["paddings"]:
        for seed in cfg["seeds"]:
            run = work / f"results/test/train/small_resnet/{padding}/seed{seed}"
            assert (run / "provenance.json").is_file()
            for e in cfg["train"]["snapshot_epochs"]:
                assert (run / f"snapshot_e{e}.pt").is_file()
    print(f"test study figures/all built in {seconds:.0f} s")


def test_training_table_has_mean_std_n_ci95_n_failed(built):
    import pandas as pd

    work, _ = built
    table = pd.read_csv(work / "results/test/tables/training.csv")
    cfg = yaml.safe_load((work / "config/test.yaml").read_text())
    # every padding of the study's arch, and the padding-free arm's valid convs
    assert set(table["padding"]) == set(cfg["paddings"]) | {"valid"}
    assert set(table.loc[table["padding"] == "valid", "arch"]) == {cfg["padding_free_arch"]}
    assert (table["n"] + table["n_failed"] == len(cfg["seeds"])).all()
    assert {"test_acc_mean", "test_acc_std", "test_acc_ci95", "n_failed"} <= set(table.columns)


def test_the_scorecard_decides_every_claim_with_a_verdict_from_the_closed_set(built):
    import pandas as pd

    from padpos.stages.claims.definitions import CLAIMS
    from padpos.stages.claims.scorecard import VERDICTS

    work, _ = built
    card = pd.read_csv(work / "results/test/tables/claims.csv")
    # the study trains no symmetric nets: on 3 x 3 convs symmetric is replicate's function,
    # so its rows are replicate's (one row, with a note), not rows with no value
    merged = [c.id for c in CLAIMS if c.scheme == "symmetric"]
    assert merged and list(card["id"]) == [c.id for c in CLAIMS if c.id not in merged]
    assert set(card["verdict"]) <= set(VERDICTS)
    assert "symmetric = replicate" in card.set_index("id").loc["LIN23-a.replicate", "note"]
    assert (work / "figures/test/claims.png").stat().st_size > 10_000
    index = (work / "figures/all").read_text()
    assert "results/test/tables/claims.csv" in index and "figures/test/claims.png" in index


def test_every_table_has_honest_spread_columns(built):
    import pandas as pd

    work, _ = built
    tables = sorted((work / "results/test/tables").glob("*.csv"))
    assert len(tables) >= 8
    cost = pd.read_csv(work / "results/test/tables/cost.csv")  # per rule, not over seeds
    assert list(cost.columns[:5]) == ["rule", "jobs", "total_wall_s", "max_rss_mb", "share_wall"]
    assert {"train", "ppp", "table", "all"} <= set(cost["rule"]) and (cost["total_wall_s"] > 0).all()
    for path in (p for p in tables if p.name not in ("cost.csv", "claims.csv")):
        table = pd.read_csv(path)
        assert "n" in table and "n_failed" in table, (path.name, list(table.columns))
        if {"ci_low", "ci_high"} <= set(table.columns):
            # a statistic over nets with its own (bootstrap) interval: metric_comparison
            assert table.loc[table["n"] < 2, "ci_low"].isna().all(), path.name
            continue
        spread = [c for c in table.columns if c == "ci95" or c.endswith("_ci95")]
        assert spread, (path.name, list(table.columns))
        std = table[spread[0].replace("ci95", "std")]
        assert std[table["n"] < 2].isna().all(), path.name  # no std for one run
        assert (path.with_suffix(".md")).is_file() and (path.with_suffix(".tex")).is_file()


def test_nothing_to_do_after_a_build(built):
    work, _ = built
    proc = snakemake(work, "-n", "figures/all", "--configfile", "config/test.yaml")
    assert planned_jobs(proc.stdout + proc.stderr) == {}, proc.stdout


def test_the_report_shows_every_table_with_its_caption(built):
    import re

    from padpos.stages import table_registry

    work, _ = built
    snakemake(work, "--report", "report.html", "--configfile", "config/test.yaml")
    html = (work / "report.html").read_text()
    assert "padpos: position information that CNN padding leaks into features" in html
    assert "System Message" not in html  # docutils' marker of a failed include
    for name in table_registry():
        caption = (work / f"workflow/report/{name}_table.rst").read_text()  # every table has one
        if not (work / f"results/test/tables/{name}.csv").exists():
            continue  # a stage the test study does not run (the pretrained models)
        assert f"results/test/tables/{name}.csv" in html, name
        # a run of plain words of the caption (rst markup renders as HTML tags)
        words = next(m.group(0).strip() for m in re.finditer(r"[A-Za-z][A-Za-z ,-]{24,}", caption))
        assert words in html, (name, words)
    assert "results/test/environment.txt" in html


def test_a_changed_package_list_rebuilds_only_the_environment(built):
    """The environment job's params hold the package list's hash when the DAG is built: a
    new distribution (here one in the working directory, which is on Snakemake's sys.path)
    re-runs it, and what reads it (the cost table sees its benchmark; figures/all)."""
    work, _ = built
    marker = work / "zz_padpos_test_marker-1.0.dist-info"
    marker.mkdir()
    try:
        (marker / "METADATA").write_text("Metadata-Version: 2.1\nName: zz-padpos-test-marker\nVersion: 1.0\n")
        proc = snakemake(work, "-n", "figures/all", "--configfile", "config/test.yaml")
    finally:
        shutil.rmtree(marker)
    assert planned_jobs(proc.stdout + proc.stderr) == {"environment": 1, "table": 1, "figures_all": 1}, proc.stdout


def _edit(path: Path):
    """Change a library file's content (Snakemake ignores a new mtime with the same checksum)."""
    path.write_text(path.read_text() + "\n# edited by test_workflow\n")
    later = time.time() + 5
    os.utime(path, (later, later))


def test_editing_plot_code_reruns_only_that_figure(built):
    work, _ = built
    _edit(work / "src/padpos/stages/train/figures.py")
    proc = snakemake(work, "-n", "figures/all", "--configfile", "config/test.yaml")
    # and the cost table, whose runs include that figure's benchmark
    assert planned_jobs(proc.stdout + proc.stderr) == {"figure_training": 1, "table": 1, "figures_all": 1}, proc.stdout


def test_editing_an_indirectly_imported_file_reruns_exactly_its_users(built):
    # features.py is imported by the shared probes (PPP, PosENet, the location test), by no command directly
    work, _ = built
    _edit(work / "src/padpos/features.py")
    proc = snakemake(work, "-n", "figures/all", "--configfile", "config/test.yaml")
    jobs = planned_jobs(proc.stdout + proc.stderr)
    cfg = yaml.safe_load((work / "config/test.yaml").read_text())
    runs = backbone_runs(cfg)
    assert jobs.get("posenet") == runs, proc.stdout
    assert jobs.get("ppp", 0) >= runs, proc.stdout
    # the location test pools features through padpos.probes.location, which imports features.py
    assert jobs.get("fconv_location", 0) >= 1, proc.stdout
    assert not {"train", "prepare_data", "fconv_redgreen", "canvas"} & set(jobs), proc.stdout


def _planned_outputs(proc) -> set:
    return {
        f.strip()
        for line in proc.stdout.splitlines()
        if line.strip().startswith("output:")
        for f in line.split(":", 1)[1].split(",")
    }


def test_two_studies_plan_disjoint_outputs_in_one_checkout(repo, tmp_path):
    """figures/all of the default study and of the test study, planned in one checkout: each
    study's jobs write under results/<study>/ and figures/<study>/ only (figures/all, the
    index of the configured study, aside), so building one never touches the other's files."""
    work = copy_workflow(tmp_path)
    planned = {
        "default": _planned_outputs(snakemake(work, "-n", "figures/all")),
        "test": _planned_outputs(snakemake(work, "-n", "figures/all", "--configfile", "config/test.yaml")),
    }
    for study, outputs in planned.items():
        assert f"figures/{study}/training.png" in outputs and f"results/{study}/tables/ppp.csv" in outputs
        own = ("figures/all", f"figures/{study}/", f"results/{study}/", "resources/")
        assert all(o.startswith(own) for o in outputs), sorted(o for o in outputs if not o.startswith(own))
    assert planned["default"] & planned["test"] == {"figures/all"}


def test_editing_padding_code_reruns_training(built):
    work, _ = built
    _edit(work / "src/padpos/padding.py")
    proc = snakemake(work, "-n", "figures/all", "--configfile", "config/test.yaml")
    jobs = planned_jobs(proc.stdout + proc.stderr)
    cfg = yaml.safe_load((work / "config/test.yaml").read_text())
    assert jobs.get("train") == backbone_runs(cfg)
    assert "prepare_data" not in jobs
