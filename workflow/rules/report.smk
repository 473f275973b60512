# Tables and the study's index: one rule for every table. `padpos table NAME` concatenates
# the table's per-run CSVs (TABLE_RUNS[NAME], declared by its stage) and writes the summary
# over seeds (mean, std, n, ci95, n_failed; failed runs excluded unless
# tables.exclude_failed is false). figures/all lists every table and figure.
from padpos.software import packages_sha256


rule table:
    input:
        runs=table_runs,
        code=lambda w: table_code(w.table),
        # the table's report caption (report/table.rst includes it): a table without one
        # stops the DAG; ancient: editing a caption re-runs nothing
        caption=ancient(f"{workflow.basedir}/workflow/report/{{table}}_table.rst"),
    output:
        report(
            multiext(f"{TABLES}/{{table}}", csv=".csv", md=".md", tex=".tex"),
            caption="../report/table.rst",
            category="Tables",
            subcategory="{table}",
        ),
    log:
        f"{LOGS}/table_{{table}}.log",
    benchmark:
        bench("table", "{table}")
    wildcard_constraints:
        table="|".join(sorted(table_registry())),
    localrule: True
    params:
        failed="" if config["tables"]["exclude_failed"] else "--include-failed",
    shell:
        "python -m padpos table {wildcards.table} --runs {input.runs:q} --output {output.csv:q} "
        "{params.failed} 2> {log:q}"


# every figure a stage declared with add_figure() (FIGURES_OF, common.smk): this file is
# included after the stages whose figures it draws (stage order, padpos.stages)
rule figure:
    input:
        unpack(figure_inputs),
        # the figure's report caption (report/figure.rst includes it); ancient: editing a
        # caption re-runs nothing
        caption=ancient(f"{workflow.basedir}/workflow/report/{{figure}}.rst"),
    output:
        png=report(
            f"{FIGURES}/{{figure}}.png",
            caption="../report/figure.rst",
            category=lambda w: FIGURES_OF[w.figure]["category"],
        ),
        pdf=f"{FIGURES}/{{figure}}.pdf",
    log:
        f"{LOGS}/figure_{{figure}}.log",
    benchmark:
        bench("figure_{figure}")
    wildcard_constraints:
        figure="|".join(sorted(FIGURES_OF)),
    localrule: True
    params:
        arguments=figure_arguments,
    shell:
        "python -m padpos {params.arguments} --output {output:q} 2> {log:q}"


# the cost table: every job's benchmark (job_benchmarks in common.smk, evaluated when the
# DAG is built, after every stage has declared its rules)
TABLE_RUNS["cost"] = job_benchmarks


# the installed packages, name==version a line; params: the list's hash when the DAG is
# built, so that installing, upgrading or removing a package re-runs this job
rule environment:
    input:
        code=code("environment"),
    output:
        report(ENVIRONMENT, caption="../report/environment.rst", category="Environment"),
    log:
        f"{LOGS}/environment.log",
    benchmark:
        bench("environment")
    localrule: True
    params:
        packages=packages_sha256(),
    shell:
        "python -m padpos environment --output {output:q} 2> {log:q}"


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
    shell:
        "python -m padpos figures-index --inputs {input:q} --output {output:q} 2> {log:q}"
