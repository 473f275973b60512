# The replication scorecard (docs/protocols.md section 8): every paper claim decided from
# the study's summary tables by a rule fixed in code -> claims.csv|md|tex and claims.png.

CLAIMS_SPEC = spec_json(
    {
        "arch": config["archs"][0],
        "padding_free_arch": config["padding_free_arch"],
        "canvas_grid": config["canvas"]["grid"],
    }
)


rule claims:
    input:
        # every summary table of the study but the cost table (TABLE_RUNS is complete when
        # the DAG is built)
        tables=lambda w: [table(name) for name in TABLE_RUNS if name != "cost"],
        code=code("claims"),
    output:
        report(
            multiext(f"{TABLES}/claims", csv=".csv", md=".md", tex=".tex"),
            caption="../report/claims_table.rst",
            category="1 Scorecard",
        ),
    log:
        f"{LOGS}/claims.log",
    benchmark:
        bench("claims")
    localrule: True
    params:
        spec=CLAIMS_SPEC,
    shell:
        "python -m padpos claims --tables {input.tables:q} --spec {params.spec:q} "
        "--output {output.csv:q} 2> {log:q}"


rule figure_claims:
    input:
        table=rules.claims.output.csv,
        code=code("plot-claims"),
    output:
        **figure_outputs("claims", "1 Scorecard"),
    log:
        f"{LOGS}/figure_claims.log",
    benchmark:
        bench("figure_claims")
    localrule: True
    params:
        title=STUDY_TITLE,
    shell:
        "python -m padpos plot-claims --table {input.table:q} --title {params.title:q} "
        "--output {output:q} 2> {log:q}"
