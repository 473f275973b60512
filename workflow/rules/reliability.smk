# Metric reliability (docs/protocols.md section 6, Lin et al. 2023's central claim): PPP, PosENet
# and the F-Conv location test on the same networks with known truth -> tables and figures.

RELIABILITY = f"{RUNS}/reliability"
# the study's backbones: at initialisation (snapshot epoch 0, when the study keeps it) and trained
RELIABILITY_CHECKPOINTS = (
    ["snapshot_e0.pt"] if 0 in config["train"]["snapshot_epochs"] else []
) + ["model.pt"]
RELIABILITY_SPEC = spec_json(
    {
        "study": STUDY,
        **config["reliability"],
        "posenet": {
            k: config["posenet"][k]
            for k in ("epochs", "batch_size", "lr", "momentum", "weight_decay", "grid")
            + ("grid_floor", "stripe_periods")
        },
    }
)
RELIABILITY_TITLE = (
    f"{STUDY_TITLE}; {len(config['reliability']['seeds'])} probe-net seeds, "
    f"{config['reliability']['num_test']} held-out crops"
)


rule reliability_reference:
    input:
        data=rules.prepare_data.output[0],
        code=code("reliability-reference"),
    output:
        csv=f"{RELIABILITY}/reference.csv",
        provenance=f"{RELIABILITY}/reference.provenance.json",
    log:
        f"{LOGS}/reliability/reference.log",
    benchmark:
        bench("reliability_reference")
    threads: 1
    params:
        spec=RELIABILITY_SPEC,
    shell:
        "python -m padpos reliability-reference --data {input.data:q} --spec {params.spec:q} "
        "--output {output.csv:q} --threads {threads} 2> {log:q}"


rule reliability_backbones:
    input:
        checkpoints=lambda w: expand(
            f"{RUNS}/train/{w.arch}/{{padding}}/seed{{seed}}/{{checkpoint}}",
            padding=config["paddings"],
            seed=config["seeds"],
            checkpoint=RELIABILITY_CHECKPOINTS,
        ),
        data=rules.prepare_data.output[0],
        code=code("reliability-backbones"),
    output:
        csv=f"{RELIABILITY}/backbones_{{arch}}.csv",
        provenance=f"{RELIABILITY}/backbones_{{arch}}.provenance.json",
    log:
        f"{LOGS}/reliability/backbones_{{arch}}.log",
    benchmark:
        bench("reliability_backbones", "{arch}")
    threads: 1
    params:
        spec=RELIABILITY_SPEC,
    shell:
        "python -m padpos reliability-backbones --checkpoints {input.checkpoints:q} "
        "--data {input.data:q} --spec {params.spec:q} --output {output.csv:q} "
        "--threads {threads} 2> {log:q}"


RELIABILITY_RUNS = [rules.reliability_reference.output.csv] + expand(
    f"{RELIABILITY}/backbones_{{arch}}.csv", arch=config["archs"]
)
TABLE_RUNS["metric_reliability"] = RELIABILITY_RUNS
TABLE_RUNS["metric_calibration"] = [rules.reliability_reference.output.csv]
TABLE_RUNS["metric_reliability_summary"] = RELIABILITY_RUNS


rule figure_metric_reliability:
    input:
        table=table("metric_reliability"),
        code=code("plot-metric-reliability"),
    output:
        **figure_outputs("metric_reliability", "Metric reliability"),
    log:
        f"{LOGS}/figure_metric_reliability.log",
    benchmark:
        bench("figure_metric_reliability")
    localrule: True
    params:
        title=RELIABILITY_TITLE,
    shell:
        "python -m padpos plot-metric-reliability --table {input.table:q} "
        "--title {params.title:q} --output {output:q} 2> {log:q}"


rule figure_metric_calibration:
    input:
        table=table("metric_calibration"),
        summary=table("metric_reliability_summary"),
        code=code("plot-metric-calibration"),
    output:
        **figure_outputs("metric_calibration", "Metric reliability"),
    log:
        f"{LOGS}/figure_metric_calibration.log",
    benchmark:
        bench("figure_metric_calibration")
    localrule: True
    params:
        title=RELIABILITY_TITLE,
    shell:
        "python -m padpos plot-metric-calibration --table {input.table:q} "
        "--summary {input.summary:q} --title {params.title:q} --output {output:q} 2> {log:q}"
