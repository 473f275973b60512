# padpos: position information that CNN padding leaks into features.
#
#   snakemake --cores 2 figures/all                                   # default study (CPU, offline)
#   snakemake --cores 8 figures/all --configfile config/cifar10.yaml  # another study
#
# Science lives in the padpos package (src/padpos); every rule calls one of its commands.
# A study's tables go to results/<study>/tables/, its figures to figures/<study>/;
# figures/all indexes the configured study's outputs.

import sys

from padpos.config import validate_config
from padpos.failures import failure_summary


configfile: "config.yaml"


# validated before any job runs; fills defaults and names the bad key on error
validate_config(config, workflow.source_path("workflow/schemas/config.schema.yaml"))


include: "workflow/rules/common.smk"


wildcard_constraints:
    arch="|".join(config["archs"]),
    padding="[a-z]+",
    seed=r"\d+",
    epoch=r"\d+",


# stages: any order (targets come from all_targets() in common.smk, evaluated once all are read)
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/ppp.smk"
include: "workflow/rules/posenet.smk"
include: "workflow/rules/fconv.smk"
include: "workflow/rules/canvas.smk"
include: "workflow/rules/reliability.smk"
include: "workflow/rules/tables.smk"


rule all:
    default_target: True
    input:
        "figures/all",


rule figures_all:
    input:
        all_targets,
    output:
        "figures/all",
    log:
        f"{LOGS}/figures_all.log",
    benchmark:
        bench("figures_all")
    localrule: True
    conda:
        ENV
    shell:
        "python -m padpos figures-index --inputs {input:q} --output {output:q} 2> {log:q}"


onerror:
    # one list of the failed jobs and their error lines at the very end (with --keep-going
    # the failures are otherwise scattered among the other jobs' output)
    print(failure_summary(log), file=sys.stderr)
