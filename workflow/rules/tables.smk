# Tables: pandas aggregation over seeds (mean, std, n) -> results/tables/*.csv|md|tex


rule table_training:
    input:
        metrics=runs_of(f"{RUNS}/train/{{arch}}/{{padding}}/seed{{seed}}/metrics.csv"),
        code=code("tables.py"),
    output:
        csv=f"{TABLES}/training.csv",
        md=f"{TABLES}/training.md",
        tex=f"{TABLES}/training.tex",
    log:
        f"{LOGS}/table_training.log",
    localrule: True
    conda:
        ENV
    shell:
        "python -m padpos table-training --metrics {input.metrics:q} --output {output.csv:q} 2> {log:q}"


ALL_TARGETS.append(rules.table_training.output.csv)
