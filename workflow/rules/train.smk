# Training: one backbone per (arch, padding, seed); resumable from results/<study>/checkpoints.
# Its table (final held-out accuracy) and figure (learning curves).

TRAIN = f"{RUNS}/train/{{arch}}/{{padding}}/seed{{seed}}"
SNAPSHOT_EPOCHS = sorted(config["train"]["snapshot_epochs"])
TRAIN_METRICS = runs_of(f"{TRAIN}/metrics.csv")
# settings that change neither the weights nor the run's flags (padpos.stages.train.training.
# LAUNCH_DEFAULTS): they reach the command as a resource, not in params, so toggling one
# (e.g. train.tensorboard) re-runs nothing finished
TRAIN_LAUNCH_KEYS = ("num_workers", "compile", "tensorboard", "nproc")
TRAIN_LAUNCH = spec_json({k: config["train"][k] for k in TRAIN_LAUNCH_KEYS})
TRAIN_SPEC = {k: v for k, v in config["train"].items() if k not in TRAIN_LAUNCH_KEYS}


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
    threads: 1
    resources:
        # a data-parallel run (train.nproc processes) claims one GPU per process
        gpu=GPU_JOB * config["train"]["nproc"],
        launch=TRAIN_LAUNCH,
    params:
        spec=lambda w: spec_json(
            {"arch": w.arch, "padding": w.padding, "seed": int(w.seed), **TRAIN_SPEC}
        ),
        # the resume state and metrics.csv, rewritten after every epoch: watch a run there
        resume_dir=f"{RUNS}/checkpoints/{{arch}}/{{padding}}/seed{{seed}}",
        # written when train.tensorboard is true: tensorboard --logdir logs/<study>/tensorboard
        tensorboard_dir=f"{LOGS}/tensorboard/{{arch}}/{{padding}}/seed{{seed}}",
    shell:
        # exec: the job's process is python itself, so a scheduler's SIGTERM reaches the
        # training (which saves its state) and not only a shell that would die at once
        "exec python -m padpos train --spec {params.spec:q} --data {input.data:q} "
        "--out-dir $(dirname {output.model:q}) --resume-dir {params.resume_dir:q} "
        "--tensorboard-dir {params.tensorboard_dir:q} --launch {resources.launch:q} "
        "--threads {threads} 2> {log:q}"


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
    params:
        title=STUDY_TITLE,
    shell:
        "python -m padpos plot-training --metrics {input.metrics:q} --title {params.title:q} "
        "--output {output:q} 2> {log:q}"
