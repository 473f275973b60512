# Training: one backbone per (arch, padding, seed); resumable from results/<study>/checkpoints.

TRAIN = f"{RUNS}/train/{{arch}}/{{padding}}/seed{{seed}}"
SNAPSHOT_EPOCHS = sorted(config["train"]["snapshot_epochs"])


rule train:
    input:
        data=rules.prepare_data.output[0],
        code=code("padding.py", "models.py", "train.py", "data.py"),
    output:
        model=f"{TRAIN}/model.pt",
        metrics=f"{TRAIN}/metrics.csv",
        provenance=f"{TRAIN}/provenance.json",
        snapshots=[f"{TRAIN}/snapshot_e{e}.pt" for e in SNAPSHOT_EPOCHS],
    log:
        f"{LOGS}/train/{{arch}}_{{padding}}_seed{{seed}}.log",
    conda:
        ENV
    threads: 1
    params:
        spec=lambda w: spec_json(
            {"arch": w.arch, "padding": w.padding, "seed": int(w.seed), **config["train"]}
        ),
        resume_dir=f"{RUNS}/checkpoints/{{arch}}/{{padding}}/seed{{seed}}",
    shell:
        "python -m padpos train --spec {params.spec:q} --data {input.data:q} "
        "--out-dir $(dirname {output.model:q}) --resume-dir {params.resume_dir:q} "
        "--threads {threads} 2> {log:q}"
