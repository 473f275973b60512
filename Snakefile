# padpos: position information that CNN padding leaks into features.
#
#   snakemake --cores 2 figures/all                                   # default study (CPU, offline)
#   snakemake --cores 8 figures/all --configfile config/cifar10.yaml  # another study
#
# Science lives in the padpos package (src/padpos); every rule calls one of its commands.
# A study's tables go to results/<study>/tables/, its figures to figures/<study>/;
# figures/all indexes the configured study's outputs.

import sys

from padpos.stages import stage_names
from padpos.workflow.config import validate_config
from padpos.workflow.job_errors import error_summary


configfile: "config.yaml"


# the description on top of `snakemake --report report.html`
report: "workflow/report/workflow.rst"


# validated before any job runs; fills defaults and names the bad key on error
validate_config(config, workflow.source_path("workflow/schemas/config.schema.yaml"))


include: "workflow/rules/common.smk"


wildcard_constraints:
    arch="|".join(RUN_ARCHS),
    padding="[a-z]+",
    seed=r"\d+",
    epoch=r"\d+",


# one rule file per stage folder of the package (src/padpos/stages/<stage>/ ->
# workflow/rules/<stage>.smk), in any order: targets come from all_targets() in
# common.smk, evaluated once all are read
for stage in stage_names():
    if Path(workflow.basedir, "workflow", "rules", f"{stage}.smk").is_file():

        include: f"workflow/rules/{stage}.smk"


rule all:
    default_target: True
    input:
        "figures/all",


onerror:
    # one list of the jobs that errored and their error lines at the very end (with
    # --keep-going the errors are otherwise scattered among the other jobs' output)
    print(error_summary(log), file=sys.stderr)
