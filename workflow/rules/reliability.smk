# Metric reliability (docs/protocols.md section 6, Lin et al. 2023's central claim): PPP, PosENet
# and the F-Conv location test on the same networks with known truth -> tables and figures.

RELIABILITY = f"{RUNS}/reliability"
# the study's backbones: at initialisation (snapshot epoch 0, when the study keeps it) and trained
RELIABILITY_CHECKPOINTS = (
    ["snapshot_e0.pt"] if 0 in config["train"]["snapshot_epochs"] else []
) + ["model.pt"]
RELIABILITY_POSENET = {
    k: config["posenet"][k]
    for k in ("epochs", "batch_size", "lr", "momentum", "weight_decay", "grid")
    + ("grid_floor", "stripe_periods")
}
# the reference and backbone jobs: every reliability setting but the behavioural comparison's
RELIABILITY_SPEC = spec_json(
    {
        "study": STUDY,
        **{k: v for k, v in config["reliability"].items() if k != "behaviour"},
        "posenet": RELIABILITY_POSENET,
    }
)
# the behavioural comparison (docs/protocols.md section 6c): its nets, the probe images'
# settings and the readout; not the list of regimes (adding one re-runs only that one)
BEHAVIOUR = config["reliability"]["behaviour"]
BEHAVIOUR_SPEC = spec_json(
    {
        "study": STUDY,
        **{
            k: config["reliability"][k]
            for k in ("num_train", "num_test", "context_px", "image_seed", "photos")
        },
        "behaviour": {k: v for k, v in BEHAVIOUR.items() if k != "regimes"},
        "posenet": RELIABILITY_POSENET,
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


rule reliability_behaviour:
    input:
        code=code("reliability-behaviour"),
    output:
        csv=f"{RELIABILITY}/behaviour_{{regime}}.csv",
        provenance=f"{RELIABILITY}/behaviour_{{regime}}.provenance.json",
    log:
        f"{LOGS}/reliability/behaviour_{{regime}}.log",
    benchmark:
        bench("reliability_behaviour", "{regime}")
    wildcard_constraints:
        regime="[a-z_]+",
    threads: 1
    params:
        spec=BEHAVIOUR_SPEC,
    shell:
        "python -m padpos reliability-behaviour --regime {wildcards.regime} --spec {params.spec:q} "
        "--output {output.csv:q} --threads {threads} 2> {log:q}"


BEHAVIOUR_RUNS = expand(f"{RELIABILITY}/behaviour_{{regime}}.csv", regime=BEHAVIOUR["regimes"])
TABLE_RUNS["metric_comparison"] = BEHAVIOUR_RUNS
TABLE_RUNS["metric_behaviour"] = BEHAVIOUR_RUNS

RELIABILITY_RUNS = [rules.reliability_reference.output.csv] + expand(
    f"{RELIABILITY}/backbones_{{arch}}.csv", arch=config["archs"]
)
TABLE_RUNS["metric_reliability"] = RELIABILITY_RUNS
TABLE_RUNS["metric_calibration"] = [rules.reliability_reference.output.csv]
TABLE_RUNS["metric_reliability_summary"] = RELIABILITY_RUNS


add_figure(
    "metric_reliability",
    "plot-metric-reliability",
    "Metric reliability",
    {"table": [table("metric_reliability")]},
    title=RELIABILITY_TITLE,
)
add_figure(
    "metric_calibration",
    "plot-metric-calibration",
    "Metric reliability",
    {"table": [table("metric_calibration")], "summary": [table("metric_reliability_summary")]},
    title=RELIABILITY_TITLE,
)
add_figure(
    "metric_comparison",
    "plot-metric-comparison",
    "Metric reliability",
    {"table": [table("metric_comparison")]},
    title=f"{STUDY_TITLE}; {len(BEHAVIOUR['seeds'])} box nets per regime",
)
