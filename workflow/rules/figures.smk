# Figures: one file per paper figure; figures/all depends on every figure and table built.


rule figure_training:
    input:
        metrics=runs_of(f"{RUNS}/train/{{arch}}/{{padding}}/seed{{seed}}/metrics.csv"),
        code=code("plots/training.py", "plots/style.py"),
    output:
        report(
            "figures/training.png",
            caption="../report/training.rst",
            category="Training",
        ),
    log:
        f"{LOGS}/figure_training.log",
    localrule: True
    conda:
        ENV
    params:
        title=STUDY_TITLE,
    shell:
        "python -m padpos plot-training --metrics {input.metrics:q} --title {params.title:q} "
        "--output {output:q} 2> {log:q}"


ALL_TARGETS.append(rules.figure_training.output[0])
