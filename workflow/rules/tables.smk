# Tables: one rule for every table. `padpos table NAME` concatenates the table's per-run
# CSVs (TABLE_RUNS[NAME], declared by its stage) and writes the summary over seeds
# (mean, std, n, ci95, n_failed; failed runs excluded unless tables.exclude_failed is false).


rule table:
    input:
        runs=table_runs,
        code=lambda w: table_code(w.table),
    output:
        multiext(f"{TABLES}/{{table}}", csv=".csv", md=".md", tex=".tex"),
    log:
        f"{LOGS}/table_{{table}}.log",
    benchmark:
        bench("table", "{table}")
    wildcard_constraints:
        table="|".join(sorted(codedeps.registered_tables(PKG))),
    localrule: True
    conda:
        ENV
    params:
        failed="" if config["tables"]["exclude_failed"] else "--include-failed",
    shell:
        "python -m padpos table {wildcards.table} --runs {input.runs:q} --output {output.csv:q} "
        "{params.failed} 2> {log:q}"


# the cost table: every job's benchmark (cost_runs in common.smk, evaluated when the DAG is built)
TABLE_RUNS["cost"] = cost_runs
