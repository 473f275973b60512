# The replication scorecard (docs/protocols.md section 8): every paper claim decided from
# the study's summary tables and the runs behind them (paired statistics, binomial noise)
# by a rule fixed in code -> claims.csv|md|tex and claims.png.
from padpos.names import SAME_SIZE_SCHEMES

CLAIMS_SPEC = spec_json(
    {
        "arch": config["archs"][0],
        "padding_free_arch": config["padding_free_arch"],
        "canvas_grid": config["canvas"]["grid"],
        # the test images behind one Red-Green accuracy (binomial noise)
        "redgreen_test_images": config["fconv"]["redgreen"]["sizes"]["test"],
        "dataset": config["data"]["dataset"],
    }
)


# which same-size schemes compute the same function on the study's archs (one arm each in
# the scorecard and its figure); beside the runs, not in tables/: it is no summary over seeds.
# Every same-size scheme, the study's first (the first of a class is its arm): a scheme the
# study does not train (symmetric) is then one row with the arm computing its function
rule scheme_equivalence:
    input:
        code=code("scheme-equivalence"),
    output:
        multiext(f"{RUNS}/claims/scheme_equivalence", csv=".csv", md=".md", tex=".tex"),
    log:
        f"{LOGS}/scheme_equivalence.log",
    benchmark:
        bench("scheme_equivalence")
    localrule: True
    params:
        archs=config["archs"],
        schemes=[p for p in config["paddings"] if p in SAME_SIZE_SCHEMES]
        + [p for p in SAME_SIZE_SCHEMES if p not in config["paddings"]],
        image_size=config["data"]["image_size"],
        width=config["train"]["width"],
    shell:
        "python -m padpos scheme-equivalence --archs {params.archs:q} --schemes {params.schemes:q} "
        "--image-size {params.image_size} --width {params.width} --output {output.csv:q} 2> {log:q}"


rule claims:
    input:
        # every summary table of the study but the cost table (TABLE_RUNS is complete when
        # the DAG is built)
        tables=lambda w: [table(name) for name in TABLE_RUNS if name != "cost"],
        runs=lambda w: [item.partition(":")[2] for item in claims_runs()],
        equivalence=rules.scheme_equivalence.output.csv,
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
        runs=lambda w: claims_runs(),
    shell:
        "python -m padpos claims --tables {input.tables:q} {input.equivalence:q} --runs {params.runs:q} "
        "--spec {params.spec:q} --output {output.csv:q} 2> {log:q}"


add_figure(
    "claims", "plot-claims", "1 Scorecard", {"table": [rules.claims.output.csv]}, title=STUDY_TITLE
)
