import json
import os

# Every result of a study lives below results/<study>/; tables and figures of the
# study last run live in results/tables/ and figures/ (the paper targets).
STUDY = config["study"]
RUNS = f"results/{STUDY}"
TABLES = "results/tables"
PKG = os.path.join(workflow.basedir, "src", "padpos")
LOGS = f"logs/{STUDY}"
# every rule runs the padpos package; its software is the project's one environment
# (relative to the rule files in workflow/rules/)
ENV = "../../environment.yml"

# what every figure title says about the study (synthetic = the reduced CPU-sized protocol)
STUDY_TITLE = (
    f"{STUDY} study"
    + (" (reduced)" if config["data"]["dataset"] == "synthetic" else "")
    + f": {config['data']['dataset']} {config['data']['image_size']} px, "
    + f"{', '.join(config['archs'])}, {config['train']['epochs']} epochs, "
    + f"{len(config['seeds'])} seeds"
)

# Every stage appends the figures and tables it builds; figures/all depends on all of them.
ALL_TARGETS = []


def code(*modules):
    """Library files that a job depends on (editing them re-runs exactly the jobs that use them)."""
    return [os.path.join(PKG, m) for m in modules]


def spec_json(d):
    """A params value: result-changing settings as one canonical JSON string."""
    return json.dumps(d, sort_keys=True, separators=(",", ":"))


def runs_of(pattern, **extra):
    """Expand a per-run path pattern over every arch x padding x seed of the study."""
    return expand(
        pattern,
        arch=config["archs"],
        padding=config["paddings"],
        seed=config["seeds"],
        **extra,
    )
