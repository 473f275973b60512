# Training: one backbone per (arch, padding, seed); resumable from results/<study>/checkpoints.
# Its table (final held-out accuracy) and figure (learning curves).

TRAIN = f"{RUNS}/train/{{arch}}/{{padding}}/seed{{seed}}"
SNAPSHOT_EPOCHS = sorted(config["train"]["snapshot_epochs"])
TRAIN_METRICS = runs_of(f"{TRAIN}/metrics.csv")


rule train:
    input:
        data=rules.prepare_data.output[0],
        code=code("train"),
    output:
        model=f"{TRAIN}/model.pt",
        metrics=f"{TRAIN}/metrics.csv",
        provenance=f"{TRAIN}/provenance.json",
        snapshots=[f"{TRAIN}/snapshot_e{e}.pt" for e in SNAPSHOT_EPOCHS],
    log:
        f"{LOGS}/train/{{arch}}_{{padding}}_seed{{seed}}.log",
    benchmark:
        bench("train", "{arch}_{padding}_seed{seed}")
    conda:
        ENV
    threads: 1
    resources:
        gpu=GPU_JOB,
    params:
        spec=lambda w: spec_json(
            {"arch": w.arch, "padding": w.padding, "seed": int(w.seed), **config["train"]}
        ),
        # the resume state and metrics.csv, rewritten after every epoch: watch a run there
        resume_dir=f"{RUNS}/checkpoints/{{arch}}/{{padding}}/seed{{seed}}",
        # written when train.tensorboard is true: tensorboard --logdir logs/<study>/tensorboard
        tensorboard_dir=f"{LOGS}/tensorboard/{{arch}}/{{padding}}/seed{{seed}}",
    shell:
        "python -m padpos train --spec {params.spec:q} --data {input.data:q} "
        "--out-dir $(dirname {output.model:q}) --resume-dir {params.resume_dir:q} "
        "--tensorboard-dir {params.tensorboard_dir:q} --threads {threads} 2> {log:q}"


TABLE_RUNS["training"] = TRAIN_METRICS


rule figure_training:
    input:
        metrics=TRAIN_METRICS,
        code=code("plot-training"),
    output:
        **figure_outputs("training", "Training"),
    log:
        f"{LOGS}/figure_training.log",
    benchmark:
        bench("figure_training")
    localrule: True
    conda:
        ENV
    params:
        title=STUDY_TITLE,
    shell:
        "python -m padpos plot-training --metrics {input.metrics:q} --title {params.title:q} "
        "--output {output:q} 2> {log:q}"
