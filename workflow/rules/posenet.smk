# PosENet (Islam et al. 2020): how much absolute position a readout decodes from the
# frozen features of every trained backbone, and from raw RGB with the readout's own padding.

POSENET = f"{RUNS}/posenet/{{arch}}/{{padding}}/seed{{seed}}"
POSENET_ALONE = f"{RUNS}/posenet_alone/pad{{readout_padding}}/seed{{seed}}"
# alone-only settings stay out of the backbone runs' specs (editing them re-runs only those)
POSENET_ALONE_ONLY = ("alone_paddings", "alone_input")
POSENET_SPEC = {k: v for k, v in config["posenet"].items() if k not in POSENET_ALONE_ONLY}
POSENET_TITLE = (
    f"{STUDY_TITLE}; readout {config['posenet']['epochs']} epochs on "
    + f"{config['posenet']['num_train_images']} images, "
    + f"scored on {config['posenet']['num_test_images']} held-out images"
)


rule posenet:
    input:
        checkpoint=rules.train.output.model,
        data=rules.prepare_data.output[0],
        code=code("posenet"),
    output:
        csv=f"{POSENET}/posenet.csv",
        npz=f"{POSENET}/predictions.npz",
        provenance=f"{POSENET}/provenance.json",
    log:
        f"{LOGS}/posenet/{{arch}}_{{padding}}_seed{{seed}}.log",
    benchmark:
        bench("posenet", "{arch}_{padding}_seed{seed}")
    threads: 1
    resources:
        gpu=GPU_JOB,
    params:
        spec=lambda w: spec_json(
            {
                "study": STUDY,
                "arch": w.arch,
                "padding": w.padding,
                "seed": int(w.seed),
                **POSENET_SPEC,
            }
        ),
    shell:
        "python -m padpos posenet --spec {params.spec:q} --checkpoint {input.checkpoint:q} "
        "--data {input.data:q} --output {output.csv:q} --predictions {output.npz:q} "
        "--provenance {output.provenance:q} --threads {threads} 2> {log:q}"


rule posenet_alone:
    input:
        data=rules.prepare_data.output[0],
        code=code("posenet-alone"),
    output:
        csv=f"{POSENET_ALONE}/posenet.csv",
        npz=f"{POSENET_ALONE}/predictions.npz",
        provenance=f"{POSENET_ALONE}/provenance.json",
    log:
        f"{LOGS}/posenet_alone/pad{{readout_padding}}_seed{{seed}}.log",
    benchmark:
        bench("posenet_alone", "pad{readout_padding}_seed{seed}")
    wildcard_constraints:
        readout_padding=r"\d+",
    threads: 1
    resources:
        gpu=GPU_JOB,
    params:
        spec=lambda w: spec_json(
            {
                "study": STUDY,
                "readout_padding": int(w.readout_padding),
                "seed": int(w.seed),
                "alone_input": config["posenet"]["alone_input"],
                **POSENET_SPEC,
            }
        ),
    shell:
        "python -m padpos posenet-alone --spec {params.spec:q} --data {input.data:q} "
        "--output {output.csv:q} --predictions {output.npz:q} "
        "--provenance {output.provenance:q} --threads {threads} 2> {log:q}"


TABLE_RUNS["posenet"] = runs_of(f"{POSENET}/posenet.csv")
TABLE_RUNS["posenet_alone"] = expand(
    f"{POSENET_ALONE}/posenet.csv",
    readout_padding=config["posenet"]["alone_paddings"],
    seed=config["seeds"],
)


add_figure("posenet", "plot-posenet", "PosENet", {"table": [table("posenet")]}, title=POSENET_TITLE)
add_figure(
    "posenet_alone",
    "plot-posenet",
    "PosENet",
    {"table": [table("posenet_alone")]},
    title=POSENET_TITLE + f"; {config['posenet']['alone_input']} RGB input",
)
add_figure(
    "posenet_examples",
    "plot-posenet-examples",
    "PosENet",
    # one backbone per padding scheme: the first arch and the first seed
    {
        "predictions": expand(
            f"{POSENET}/predictions.npz",
            arch=config["archs"][0],
            padding=config["paddings"],
            seed=config["seeds"][0],
        )
    },
    title=POSENET_TITLE,
)
