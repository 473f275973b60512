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
    input:
        checkpoint=lambda w: (
            f"{RUNS}/train/{w.arch}/{w.padding}/seed{w.seed}/{PPP_CHECKPOINT[int(w.epoch)]}"
        ),
        data=rules.prepare_data.output[0],
        code=code("features.py", "metrics/ppp.py", "data.py", "models.py", "padding.py", "train.py"),
    output:
        csv=f"{PPP}/epoch{{epoch}}.csv",
        npz=f"{PPP}/epoch{{epoch}}.npz",
    log:
        f"{LOGS}/ppp/{{arch}}_{{padding}}_seed{{seed}}_epoch{{epoch}}.log",
    conda:
        ENV
    threads: 1
    params:
        spec=spec_json({"study": STUDY, **config["ppp"]}),
    shell:
        "python -m padpos ppp --checkpoint {input.checkpoint:q} --data {input.data:q} "
        "--spec {params.spec:q} --output-csv {output.csv:q} --output-npz {output.npz:q} "
        "--threads {threads} 2> {log:q}"


rule table_ppp:
    input:
        runs=runs_of(f"{PPP}/epoch{PPP_FINAL_EPOCH}.csv"),
        code=code("metrics/ppp.py", "tables.py"),
    output:
        csv=f"{TABLES}/ppp.csv",
        md=f"{TABLES}/ppp.md",
        tex=f"{TABLES}/ppp.tex",
    log:
        f"{LOGS}/table_ppp.log",
    localrule: True
    conda:
        ENV
    shell:
        "python -m padpos table-ppp --inputs {input.runs:q} --output {output.csv:q} 2> {log:q}"


rule table_ppp_formation:
    input:
        runs=runs_of(f"{PPP}/epoch{{epoch}}.csv", epoch=PPP_EPOCHS),
        code=code("metrics/ppp.py", "tables.py"),
    output:
        csv=f"{TABLES}/ppp_formation.csv",
        md=f"{TABLES}/ppp_formation.md",
        tex=f"{TABLES}/ppp_formation.tex",
    log:
        f"{LOGS}/table_ppp_formation.log",
    localrule: True
    conda:
        ENV
    shell:
        "python -m padpos table-ppp --by-epoch --inputs {input.runs:q} --output {output.csv:q} "
        "2> {log:q}"


rule figure_ppp_maps:
    input:
        maps=runs_of(f"{PPP}/epoch{PPP_FINAL_EPOCH}.npz"),
        code=code("plots/ppp.py", "plots/style.py"),
    output:
        report("figures/ppp_maps.png", caption="../report/ppp_maps.rst", category="PPP"),
    log:
        f"{LOGS}/figure_ppp_maps.log",
    localrule: True
    conda:
        ENV
    params:
        title=PPP_TITLE,
    shell:
        "python -m padpos plot-ppp-maps --maps {input.maps:q} --title {params.title:q} "
        "--output {output:q} 2> {log:q}"


rule figure_ppp_by_padding:
    input:
        table=rules.table_ppp.output.csv,
        code=code("plots/ppp.py", "plots/style.py"),
    output:
        report("figures/ppp_by_padding.png", caption="../report/ppp_by_padding.rst", category="PPP"),
    log:
        f"{LOGS}/figure_ppp_by_padding.log",
    localrule: True
    conda:
        ENV
    params:
        title=PPP_TITLE,
    shell:
        "python -m padpos plot-ppp-by-padding --table {input.table:q} --title {params.title:q} "
        "--output {output:q} 2> {log:q}"


rule figure_ppp_formation:
    input:
        table=rules.table_ppp_formation.output.csv,
        code=code("plots/ppp.py", "plots/style.py"),
    output:
        report("figures/ppp_formation.png", caption="../report/ppp_formation.rst", category="PPP"),
    log:
        f"{LOGS}/figure_ppp_formation.log",
    localrule: True
    conda:
        ENV
    params:
        title=PPP_TITLE,
    shell:
        "python -m padpos plot-ppp-formation --table {input.table:q} --title {params.title:q} "
        "--output {output:q} 2> {log:q}"


ALL_TARGETS.extend(
    [
        rules.table_ppp.output.csv,
        rules.table_ppp_formation.output.csv,
        rules.figure_ppp_maps.output[0],
        rules.figure_ppp_by_padding.output[0],
        rules.figure_ppp_formation.output[0],
    ]
)
