import json
import os

# Every result of a study lives below results/<study>/; tables and figures of the
# study last run live in results/tables/ and figures/ (the paper targets).
STUDY = config["study"]
RUNS = f"results/{STUDY}"
TABLES = "results/tables"
PKG = os.path.join(workflow.basedir, "src", "padpos")
LOGS = f"logs/{STUDY}"

# Every stage appends the figures and tables it builds; figures/all depends on all of them.
ALL_TARGETS = []


wildcard_constraints:
    arch="|".join(config["archs"]),
    padding="[a-z]+",
    seed=r"\d+",
    epoch=r"\d+",


def code(*modules):
    """Library files a rule depends on: editing them re-runs exactly the rules that use them."""
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
