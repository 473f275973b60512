import json
import shlex
from pathlib import Path

from padpos.stages import table_registry
from padpos.workflow import codedeps

# Every result of a study lives below results/<study>/ (its tables in results/<study>/tables/),
# its figures below figures/<study>/: two studies' outputs coexist in one checkout.
STUDY = config["study"]
RUNS = f"results/{STUDY}"
TABLES = f"{RUNS}/tables"
FIGURES = f"figures/{STUDY}"
LOGS = f"logs/{STUDY}"
PKG = Path(workflow.basedir) / "src" / "padpos"
# every rule runs the padpos package in the one environment that Snakemake runs in (the
# install command builds it from the lock, README "Install"); no per-rule conda env or
# container: those deployment paths cannot be tested here, so the workflow offers none

# what every figure title says about the study (synthetic = the reduced CPU-sized protocol)
STUDY_TITLE = (
    f"{STUDY} study"
    + (" (reduced)" if config["data"]["dataset"] == "synthetic" else "")
    + f": {config['data']['dataset']} {config['data']['image_size']} px, "
    + f"{', '.join(config['archs'])}"
    + (f" (+ padding-free {config['padding_free_arch']})" if config["padding_free_arch"] else "")
    + f", {config['train']['epochs']} epochs, "
    + f"{len(config['seeds'])} seeds"
)

# table name -> its per-run result files (or a function returning them, evaluated when the
# DAG is built); each stage's rule file adds the tables its manifest declares (the one
# `table` rule in report.smk builds them all)
TABLE_RUNS = {}

# Costs: every rule writes a Snakemake benchmark file (wall time, max RSS, CPU time of its
# job), `benchmark: bench("<rule>", "<job wildcards>")`; the `cost` table (report.smk)
# sums the benchmarks of every job of the study, found by job_benchmarks().
BENCH = f"{RUNS}/benchmarks"


# GPU scheduling: every rule whose command computes on CUDA when a GPU is present
# (padpos.runtime.select_device) claims GPU_JOB units of the `gpu` resource. Locally,
# `--resources gpu=N` runs at most N such jobs at once (N = 1: one at a time on the one GPU
# they all use, cuda:0); without --resources the claim limits nothing, so `--cores 2` alone
# runs everything on a CPU-only machine as before. On SLURM, profiles/slurm turns the claim
# into `sbatch --gpus` (or 0 for the F-Conv rules, CPU jobs there). A rule's claim can be
# changed per run, e.g. `--set-resources canvas:gpu=0` (README, "Running on a cluster").
GPU_JOB = 1


def bench(rule, job="job"):
    """Benchmark file of a job of `rule` (`job`: its wildcards, e.g. "{arch}_{padding}")."""
    return f"{BENCH}/{rule}/{job}.tsv"


def study_files():
    """Every concrete file the study names: its tables and figures (all_targets()), the
    per-run files of every table but the cost table, and every rule's concrete inputs."""
    files = set(all_targets())
    for runs in TABLE_RUNS.values():
        if runs is not job_benchmarks:  # the cost table's runs are what this finds
            files.update(runs() if callable(runs) else runs)
    for r in workflow.rules:
        files.update(str(f) for f in r.input if isinstance(f, str) and "{" not in f)
    return files


def job_benchmarks():
    """The benchmark file of every job of the study, derived from the workflow itself:
    each concrete file of study_files() is matched to the rule that produces it, and that
    rule's benchmark pattern filled with the file's wildcards is its job's. Called when the
    DAG is built, after every rule file is read. The cost table's own job and figures/all
    (which come after it) are left out."""
    out = set()
    files = study_files()
    for r in workflow.rules:
        if r.benchmark is None or r.name == "figures_all":
            continue
        for f in files:
            if r.is_producer(f):
                wildcards = r.get_wildcards(f)
                if not (r.name == "table" and wildcards.get("table") == "cost"):
                    out.add(str(r.expand_benchmark(wildcards)))
    return sorted(out)


def code(command, *modules):
    """Package files that `padpos <command>` runs, derived from the source (padpos.workflow.
    codedeps): the command's functions and every padpos module they import, transitively,
    lazy imports included; `modules` are imported by name at run time. Declared as a rule's
    input, so editing a library file re-runs exactly the jobs that use it."""
    return [str(p) for p in codedeps.command_files(PKG, command, *modules)]


def table_code(name):
    """Package files that `padpos table <name>` runs (its builder, not the other tables')."""
    return [str(p) for p in codedeps.table_files(PKG, name)]


def table_runs(wildcards):
    """Input function of the `table` rule: the per-run files of table `wildcards.table`."""
    if wildcards.table not in TABLE_RUNS:
        raise ValueError(
            f"table {wildcards.table!r} is declared by the manifest of stage "
            f"{table_registry().get(wildcards.table)!r} but no rule file declares its runs "
            f"(TABLE_RUNS); declared: {', '.join(TABLE_RUNS)}"
        )
    runs = TABLE_RUNS[wildcards.table]
    return runs() if callable(runs) else runs


def table(name):
    """The CSV of table `name` (its .md and .tex siblings are built with it)."""
    return f"{TABLES}/{name}.csv"


def figure(name, ext="png"):
    return f"{FIGURES}/{name}.{ext}"


# figure name -> what report.smk's one `figure` rule needs to draw it (its padpos command, its
# report category, its inputs (the command's option -> files) and its other options
# (option -> value, e.g. title, spec)). Each stage's rule file adds its figures with
# add_figure(); workflow/report/<name>.rst is the figure's report caption
FIGURES_OF = {}


def add_figure(name, command, category, inputs, **options):
    """Declare figure `name`: `padpos <command> --<option> <files> ... --<option> <value>
    ... --output <png> <pdf>`, shown in `snakemake --report` under `category`."""
    FIGURES_OF[name] = {
        "command": command,
        "category": category,
        "inputs": inputs,
        "options": options,
    }


def figure_inputs(wildcards):
    """The inputs of figure `wildcards.figure`: its own, by option name, and its code."""
    fig = FIGURES_OF[wildcards.figure]
    return {**fig["inputs"], "code": code(fig["command"])}


def figure_arguments(wildcards, input):
    """The command line of figure `wildcards.figure` but its --output, shell-quoted."""
    fig = FIGURES_OF[wildcards.figure]
    paths = {
        opt: [input[opt]] if isinstance(input[opt], str) else input[opt] for opt in fig["inputs"]
    }
    files = [f"--{opt} " + " ".join(shlex.quote(str(f)) for f in paths[opt]) for opt in paths]
    options = [f"--{opt} {shlex.quote(str(value))}" for opt, value in fig["options"].items()]
    return " ".join([fig["command"], *files, *options])


def figure_outputs(name, category):
    """The files of figure `name`, declared as `output: **figure_outputs(name, category)`.
    `png`: shown in `snakemake --report` under `category`, captioned by
    workflow/report/<name>.rst; `pdf`: the same figure as vector graphics. The command
    gets both paths (`--output {output:q}`), draws the figure once and saves it twice."""
    return {
        "png": report(figure(name), caption=f"../report/{name}.rst", category=category),
        "pdf": figure(name, "pdf"),
    }


# the study's installed packages, name==version a line (report.smk)
ENVIRONMENT = f"{RUNS}/environment.txt"


def all_targets(wildcards=None):
    """Every table and figure of the configured study: the tables stages declared in
    TABLE_RUNS, the package list (ENVIRONMENT), the figures of FIGURES_OF and every concrete
    rule output under figures/<study>/ or the study's tables folder (the scorecard). Called
    when the DAG is built, after every rule file is read, so the include order does not
    matter."""
    outputs = sorted(
        {
            str(f)
            for r in workflow.rules
            for f in r.output
            if str(f).startswith((f"{FIGURES}/", f"{TABLES}/")) and "{" not in str(f)
        }
        | {f for name in FIGURES_OF for f in (figure(name), figure(name, "pdf"))}
    )
    return [table(name) for name in TABLE_RUNS] + [ENVIRONMENT] + outputs


def spec_json(d):
    """A params value: result-changing settings as one canonical JSON string."""
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


# the backbone runs of the study: every arch x padding, and the padding-free arm (its arch
# with 'valid' convs) when the study has one
RUN_PAIRS = [(a, p) for a in config["archs"] for p in config["paddings"]] + (
    [(config["padding_free_arch"], "valid")] if config["padding_free_arch"] else []
)
RUN_ARCHS = list(dict.fromkeys(a for a, _ in RUN_PAIRS))


def runs_of(pattern, **extra):
    """Expand a per-run path pattern over every backbone run of the study: each
    (arch, padding) of RUN_PAIRS x every seed (x `extra` wildcards)."""
    return [
        path
        for arch, padding in RUN_PAIRS
        for path in expand(pattern, arch=arch, padding=padding, seed=config["seeds"], **extra)
    ]


def claims_runs():
    """TABLE:PATH for every per-run file behind each table a claim reads (the claims
    stage rebuilds those tables from their runs to read the per-run values)."""
    from padpos.stages.claims.definitions import CLAIMS

    names = dict.fromkeys(name for claim in CLAIMS for name in claim.tables if name in TABLE_RUNS)
    out = []
    for name in names:
        runs = TABLE_RUNS[name]
        out += [f"{name}:{path}" for path in (runs() if callable(runs) else runs)]
    return out
