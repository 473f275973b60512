# The pretrained stage's rules (read by workflow/rules/pretrained.smk when pretrained.models
# lists a model): fetch, photo check, images, the probes, tables and figures.
import re

from padpos.stages.pretrained.catalog import (
    ALONE,
    figure_args,
    layer_override,
    paddings_of,
    probe_spec,
    run_files,
)

PRETRAINED = f"{RUNS}/pretrained"
PRETRAINED_RUN = f"{PRETRAINED}/{{model}}/{{padding}}"
PRETRAINED_TEXTS = [m.text for m in PRETRAINED_MODELS.values()]
# model -> its paddings: native (as published), then the what-if schemes
PRETRAINED_PADDINGS = {
    slug: paddings_of(PRETRAINED_CFG["what_if_paddings"], m.text, PRETRAINED_TEXTS)
    for slug, m in PRETRAINED_MODELS.items()
}
for _m in PRETRAINED_TEXTS:  # a pretrained.layers key that names no model stops here
    layer_override(PRETRAINED_CFG["layers"], _m, PRETRAINED_TEXTS)
# the readout's settings: the study's posenet section, without what only the backbone
# and alone runs of the posenet stage read
PRETRAINED_READOUT = {
    k: config["posenet"][k]
    for k in ("epochs", "batch_size", "lr", "momentum", "weight_decay", "grid")
    + ("grid_floor", "stripe_periods", "noise_images", "noise_std", "num_examples")
}
PRETRAINED_IMAGES = PRETRAINED_CFG["images"]
PRETRAINED_TITLE = (
    f"{STUDY} study: pretrained models on "
    + (
        f"images of {PRETRAINED_IMAGES['path']}"
        if PRETRAINED_IMAGES["path"]
        else "scikit-image photograph crops"
    )
    + f", {PRETRAINED_IMAGES['size']} px, {PRETRAINED_IMAGES['num_train']} train / "
    + f"{PRETRAINED_IMAGES['num_test']} held-out, readout {config['posenet']['epochs']} epochs"
)

PRETRAINED_SPEC = lambda w: spec_json(
    probe_spec(
        PRETRAINED_CFG, PRETRAINED_MODELS[w.model].text, w.padding, STUDY, PRETRAINED_READOUT
    )
)


wildcard_constraints:
    model="|".join(re.escape(slug) for slug in PRETRAINED_MODELS),


rule pretrained_fetch:
    # the one rule that may download (a machine with internet; on a cluster, the
    # submit host): each model's weights into its library's cache, once
    input:
        # a checkpoint file is its own weights: editing it re-runs its jobs
        weights=lambda w: (
            [PRETRAINED_MODELS[w.model].name]
            if PRETRAINED_MODELS[w.model].library == "file"
            else []
        ),
        code=code("pretrained-fetch"),
    output:
        record=f"{PRETRAINED}/weights/{{model}}.json",
    log:
        f"{LOGS}/pretrained/fetch_{{model}}.log",
    benchmark:
        bench("pretrained_fetch", "{model}")
    localrule: True
    params:
        model=lambda w: PRETRAINED_MODELS[w.model].text,
    shell:
        "python -m padpos pretrained-fetch --model {params.model:q} --output {output.record:q} "
        "2> {log:q}"


rule pretrained_photos:
    # the weights are real: top-1 / top-5 on labelled photographs at the native size;
    # a failed check flags every probe row of the model
    input:
        weights=rules.pretrained_fetch.output.record,
        code=code("pretrained-photos"),
    output:
        csv=f"{PRETRAINED}/{{model}}/photos.csv",
        provenance=f"{PRETRAINED}/{{model}}/photos.provenance.json",
    log:
        f"{LOGS}/pretrained/photos_{{model}}.log",
    benchmark:
        bench("pretrained_photos", "{model}")
    threads: 1
    params:
        model=lambda w: PRETRAINED_MODELS[w.model].text,
    shell:
        "python -m padpos pretrained-photos --model {params.model:q} --weights {input.weights:q} "
        "--output {output.csv:q} 2> {log:q}"


rule pretrained_images:
    input:
        code=code("pretrained-images"),
    output:
        images=f"{PRETRAINED}/images.pt",
        provenance=f"{PRETRAINED}/images.provenance.json",
    log:
        f"{LOGS}/pretrained/images.log",
    benchmark:
        bench("pretrained_images")
    params:
        spec=spec_json(PRETRAINED_IMAGES),
    shell:
        "python -m padpos pretrained-images --spec {params.spec:q} --output {output.images:q} "
        "2> {log:q}"


rule pretrained_posenet:
    input:
        weights=rules.pretrained_fetch.output.record,
        photos=rules.pretrained_photos.output.csv,
        images=rules.pretrained_images.output.images,
        code=code("pretrained-posenet"),
    output:
        csv=f"{PRETRAINED_RUN}/posenet.csv",
        npz=f"{PRETRAINED_RUN}/predictions.npz",
        provenance=f"{PRETRAINED_RUN}/posenet.provenance.json",
    log:
        f"{LOGS}/pretrained/posenet_{{model}}_{{padding}}.log",
    benchmark:
        bench("pretrained_posenet", "{model}_{padding}")
    threads: 1
    resources:
        gpu=GPU_JOB,
    params:
        spec=PRETRAINED_SPEC,
    shell:
        "python -m padpos pretrained-posenet --spec {params.spec:q} --weights {input.weights:q} "
        "--photos {input.photos:q} "
        "--images {input.images:q} --output {output.csv:q} --predictions {output.npz:q} "
        "--threads {threads} 2> {log:q}"


rule pretrained_posenet_alone:
    input:
        images=rules.pretrained_images.output.images,
        code=code("pretrained-posenet-alone"),
    output:
        csv=f"{PRETRAINED}/{ALONE}/posenet.csv",
        npz=f"{PRETRAINED}/{ALONE}/predictions.npz",
        provenance=f"{PRETRAINED}/{ALONE}/posenet.provenance.json",
    log:
        f"{LOGS}/pretrained/posenet_alone.log",
    benchmark:
        bench("pretrained_posenet_alone")
    threads: 1
    resources:
        gpu=GPU_JOB,
    params:
        spec=spec_json(
            {
                "study": STUDY,
                "seeds": PRETRAINED_CFG["seeds"],
                "posenet": PRETRAINED_READOUT,
            }
        ),
    shell:
        "python -m padpos pretrained-posenet-alone --spec {params.spec:q} "
        "--images {input.images:q} --output {output.csv:q} --predictions {output.npz:q} "
        "--threads {threads} 2> {log:q}"


rule pretrained_ppp:
    input:
        weights=rules.pretrained_fetch.output.record,
        photos=rules.pretrained_photos.output.csv,
        images=rules.pretrained_images.output.images,
        code=code("pretrained-ppp"),
    output:
        csv=f"{PRETRAINED_RUN}/ppp.csv",
        npz=f"{PRETRAINED_RUN}/ppp.npz",
        provenance=f"{PRETRAINED_RUN}/ppp.provenance.json",
    log:
        f"{LOGS}/pretrained/ppp_{{model}}_{{padding}}.log",
    benchmark:
        bench("pretrained_ppp", "{model}_{padding}")
    threads: 1
    resources:
        gpu=GPU_JOB,
    params:
        spec=PRETRAINED_SPEC,
    shell:
        "python -m padpos pretrained-ppp --spec {params.spec:q} --weights {input.weights:q} "
        "--photos {input.photos:q} "
        "--images {input.images:q} --output {output.csv:q} --maps {output.npz:q} "
        "--threads {threads} 2> {log:q}"


rule pretrained_location:
    input:
        weights=rules.pretrained_fetch.output.record,
        photos=rules.pretrained_photos.output.csv,
        images=rules.pretrained_images.output.images,
        code=code("pretrained-location"),
    output:
        csv=f"{PRETRAINED_RUN}/location.csv",
        provenance=f"{PRETRAINED_RUN}/location.provenance.json",
    log:
        f"{LOGS}/pretrained/location_{{model}}_{{padding}}.log",
    benchmark:
        bench("pretrained_location", "{model}_{padding}")
    threads: 1
    resources:
        gpu=GPU_JOB,
    params:
        spec=PRETRAINED_SPEC,
    shell:
        "python -m padpos pretrained-location --spec {params.spec:q} --weights {input.weights:q} "
        "--photos {input.photos:q} "
        "--images {input.images:q} --output {output.csv:q} --threads {threads} 2> {log:q}"


TABLE_RUNS["pretrained_posenet"] = [rules.pretrained_posenet_alone.output.csv] + run_files(
    f"{PRETRAINED_RUN}/posenet.csv", PRETRAINED_PADDINGS
)
TABLE_RUNS["pretrained_ppp"] = run_files(f"{PRETRAINED_RUN}/ppp.csv", PRETRAINED_PADDINGS)
TABLE_RUNS["pretrained_location"] = run_files(f"{PRETRAINED_RUN}/location.csv", PRETRAINED_PADDINGS)
TABLE_RUNS["pretrained_photos"] = [f"{PRETRAINED}/{slug}/photos.csv" for slug in PRETRAINED_MODELS]


# five figures, one rule: each `use rule` names its inputs (by the command's option names)
rule figure_pretrained_table1:
    input:
        table=table("pretrained_posenet"),
        code=code("plot-pretrained-table1"),
    output:
        **figure_outputs("pretrained_table1", "Pretrained models"),
    log:
        f"{LOGS}/figure_pretrained_table1.log",
    benchmark:
        bench("figure_pretrained_table1")
    localrule: True
    params:
        command="plot-pretrained-table1",
        args=lambda w, input: figure_args(input),
        title=PRETRAINED_TITLE,
    shell:
        "python -m padpos {params.command} {params.args} --title {params.title:q} "
        "--output {output:q} 2> {log:q}"


use rule figure_pretrained_table1 as figure_pretrained_posenet with:
    input:
        table=table("pretrained_posenet"),
        code=code("plot-pretrained-posenet"),
    output:
        **figure_outputs("pretrained_posenet", "Pretrained models"),
    log:
        f"{LOGS}/figure_pretrained_posenet.log",
    benchmark:
        bench("figure_pretrained_posenet")
    # `use rule` does not carry `localrule` over
    localrule: True
    params:
        command="plot-pretrained-posenet",
        args=lambda w, input: figure_args(input),
        title=PRETRAINED_TITLE,


use rule figure_pretrained_table1 as figure_pretrained_layers with:
    input:
        posenet=table("pretrained_posenet"),
        ppp=table("pretrained_ppp"),
        location=table("pretrained_location"),
        code=code("plot-pretrained-layers"),
    output:
        **figure_outputs("pretrained_layers", "Pretrained models"),
    log:
        f"{LOGS}/figure_pretrained_layers.log",
    benchmark:
        bench("figure_pretrained_layers")
    localrule: True
    params:
        command="plot-pretrained-layers",
        args=lambda w, input: figure_args(input),
        title=PRETRAINED_TITLE,


use rule figure_pretrained_table1 as figure_pretrained_ppp_maps with:
    input:
        maps=run_files(f"{PRETRAINED_RUN}/ppp.npz", PRETRAINED_PADDINGS),
        code=code("plot-pretrained-ppp-maps"),
    output:
        **figure_outputs("pretrained_ppp_maps", "Pretrained models"),
    log:
        f"{LOGS}/figure_pretrained_ppp_maps.log",
    benchmark:
        bench("figure_pretrained_ppp_maps")
    localrule: True
    params:
        command="plot-pretrained-ppp-maps",
        args=lambda w, input: figure_args(input),
        title=PRETRAINED_TITLE,


use rule figure_pretrained_table1 as figure_pretrained_examples with:
    # the posenet stage's example figure, one row per model x padding (first seed)
    input:
        predictions=[rules.pretrained_posenet_alone.output.npz]
        + run_files(f"{PRETRAINED_RUN}/predictions.npz", PRETRAINED_PADDINGS),
        code=code("plot-posenet-examples"),
    output:
        **figure_outputs("pretrained_examples", "Pretrained models"),
    log:
        f"{LOGS}/figure_pretrained_examples.log",
    benchmark:
        bench("figure_pretrained_examples")
    localrule: True
    params:
        command="plot-posenet-examples",
        args=lambda w, input: figure_args(input),
        title=PRETRAINED_TITLE,


rule pretrained_all:
    # every table and figure of this stage alone: snakemake pretrained_all --configfile ...
    input:
        [table(name) for name in TABLE_RUNS if name.startswith("pretrained_")],
        rules.figure_pretrained_table1.output,
        rules.figure_pretrained_posenet.output,
        rules.figure_pretrained_layers.output,
        rules.figure_pretrained_ppp_maps.output,
        rules.figure_pretrained_examples.output,
    localrule: True
