# Boundary effects (Islam et al. 2021; docs/protocols.md 5): one job per arch x padding x seed
# trains the canvas nets (one per canvas colour) that predict the cell AND the class of an
# image on a k x k canvas; fresh nets, so the job does not wait for the backbones. One arm
# per distinct function: `symmetric` equals `replicate` on 3x3 convs (docs/padding.md), so
# it runs only where the study lacks `replicate`.

CANVAS = f"{RUNS}/canvas/{{arch}}/{{padding}}/seed{{seed}}"
CANVAS_CFG = config["canvas"]
CANVAS_PAIRS = [
    (a, p) for a, p in RUN_PAIRS if not (p == "symmetric" and (a, "replicate") in RUN_PAIRS)
]
CANVAS_TITLE = (
    f"{STUDY_TITLE}; {CANVAS_CFG['epochs']} epochs on "
    + f"{CANVAS_CFG['num_train'] or 'all'} images"
)
# canvas.width null = the backbones' width
CANVAS_SPEC = {
    **CANVAS_CFG,
    "width": CANVAS_CFG["width"] or config["train"]["width"],
    "study": STUDY,
    "archs": RUN_ARCHS,
}


rule canvas:
    input:
        data=rules.prepare_data.output[0],
        code=code("canvas"),
    output:
        canvas=f"{CANVAS}/canvas_location.csv",
        provenance=f"{CANVAS}/provenance.json",
    log:
        f"{LOGS}/canvas/{{arch}}_{{padding}}_seed{{seed}}.log",
    benchmark:
        bench("canvas", "{arch}_{padding}_seed{seed}")
    conda:
        ENV
    threads: 1
    resources:
        gpu=GPU_JOB,
    params:
        spec=lambda w: spec_json(
            {**CANVAS_SPEC, "arch": w.arch, "padding": w.padding, "seed": int(w.seed)}
        ),
    shell:
        "python -m padpos canvas --spec {params.spec:q} --data {input.data:q} "
        "--canvas-output {output.canvas:q} --provenance {output.provenance:q} "
        "--threads {threads} 2> {log:q}"


CANVAS_RUNS = [
    path
    for arch, padding in CANVAS_PAIRS
    for path in expand(
        f"{CANVAS}/canvas_location.csv", arch=arch, padding=padding, seed=config["seeds"]
    )
]
TABLE_RUNS["canvas_location"] = CANVAS_RUNS
TABLE_RUNS["canvas_cells"] = CANVAS_RUNS


rule figure_canvas_location:
    input:
        runs=CANVAS_RUNS,
        code=code("plot-canvas-location"),
    output:
        **figure_outputs("canvas_location", "Boundary effects"),
    log:
        f"{LOGS}/figure_canvas_location.log",
    benchmark:
        bench("figure_canvas_location")
    localrule: True
    conda:
        ENV
    params:
        command="plot-canvas-location",
        title=CANVAS_TITLE,
    shell:
        "python -m padpos {params.command} --runs {input.runs:q} --title {params.title:q} "
        "--output {output:q} 2> {log:q}"


use rule figure_canvas_location as figure_border_distance with:
    input:
        runs=CANVAS_RUNS,
        code=code("plot-border-distance"),
    output:
        **figure_outputs("border_distance", "Boundary effects"),
    log:
        f"{LOGS}/figure_border_distance.log",
    benchmark:
        bench("figure_border_distance")
    # `use rule` does not carry `localrule` over
    localrule: True
    params:
        command="plot-border-distance",
        title=CANVAS_TITLE,
