# PPP (Lin et al. 2023): position-information pattern of every trained backbone, at every
# snapshot epoch (0 = initialisation) and the final epoch -> tables and figures.

PPP = f"{RUNS}/ppp/{{arch}}/{{padding}}/seed{{seed}}"
PPP_FINAL_EPOCH = config["train"]["epochs"]
PPP_EPOCHS = sorted(set(config["train"]["snapshot_epochs"]) | {PPP_FINAL_EPOCH})
# the final epoch is model.pt; earlier epochs are the training snapshots
PPP_CHECKPOINT = {
    e: "model.pt" if e == PPP_FINAL_EPOCH else f"snapshot_e{e}.pt" for e in PPP_EPOCHS
}
PPP_TITLE = f"{STUDY_TITLE}, PPP on {config['ppp']['num_images']} held-out images"


rule ppp:
    # one job per run covers all its snapshot epochs: one process start-up, crops rendered once
    input:
        checkpoints=lambda w: [
            f"{RUNS}/train/{w.arch}/{w.padding}/seed{w.seed}/{PPP_CHECKPOINT[e]}"
            for e in PPP_EPOCHS
        ],
        data=rules.prepare_data.output[0],
        code=code("ppp"),
    output:
        csv=[f"{PPP}/epoch{e}.csv" for e in PPP_EPOCHS],
        npz=[f"{PPP}/epoch{e}.npz" for e in PPP_EPOCHS],
        provenance=[f"{PPP}/epoch{e}.provenance.json" for e in PPP_EPOCHS],
    log:
        f"{LOGS}/ppp/{{arch}}_{{padding}}_seed{{seed}}.log",
    benchmark:
        bench("ppp", "{arch}_{padding}_seed{seed}")
    threads: 1
    resources:
        gpu=GPU_JOB,
    params:
        spec=spec_json({"study": STUDY, **config["ppp"]}),
    shell:
        "python -m padpos ppp --checkpoint {input.checkpoints:q} --data {input.data:q} "
        "--spec {params.spec:q} --output-csv {output.csv:q} --output-npz {output.npz:q} "
        "--threads {threads} 2> {log:q}"


TABLE_RUNS["ppp"] = runs_of(f"{PPP}/epoch{PPP_FINAL_EPOCH}.csv")
TABLE_RUNS["ppp_formation"] = runs_of(f"{PPP}/epoch{{epoch}}.csv", epoch=PPP_EPOCHS)


add_figure(
    "ppp_maps",
    "plot-ppp-maps",
    "PPP",
    {"maps": runs_of(f"{PPP}/epoch{PPP_FINAL_EPOCH}.npz")},
    title=PPP_TITLE,
)
add_figure(
    "ppp_by_padding", "plot-ppp-by-padding", "PPP", {"table": [table("ppp")]}, title=PPP_TITLE
)
add_figure(
    "ppp_formation",
    "plot-ppp-formation",
    "PPP",
    {"table": [table("ppp_formation")]},
    title=PPP_TITLE,
)
