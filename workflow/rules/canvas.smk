# Boundary effects (Islam et al. 2021; docs/protocols.md 5): one job per trained run computes the
# canvas location test (a fresh net with the run's arch, padding and seed; every canvas colour)
# and the trained backbone's accuracy versus the object's distance to the border.

CANVAS = f"{RUNS}/canvas/{{arch}}/{{padding}}/seed{{seed}}"
CANVAS_CFG = config["canvas"]
CANVAS_TITLE = (
    f"{STUDY_TITLE}; location nets {CANVAS_CFG['epochs']} epochs on "
    + f"{CANVAS_CFG['num_train'] or 'all'} images, "
    + f"{CANVAS_CFG['cell_size'] or config['data']['image_size']} px cells"
)


rule canvas:
    input:
        checkpoint=rules.train.output.model,
        data=rules.prepare_data.output[0],
        code=code("canvas"),
    output:
        canvas=f"{CANVAS}/canvas_location.csv",
        border=f"{CANVAS}/border_distance.csv",
        provenance=f"{CANVAS}/provenance.json",
    log:
        f"{LOGS}/canvas/{{arch}}_{{padding}}_seed{{seed}}.log",
    benchmark:
        bench("canvas", "{arch}_{padding}_seed{seed}")
    threads: 1
    resources:
        gpu=GPU_JOB,
    params:
        spec=lambda w: spec_json({"study": STUDY, "seed": int(w.seed), **CANVAS_CFG}),
    shell:
        "python -m padpos canvas --spec {params.spec:q} --checkpoint {input.checkpoint:q} "
        "--data {input.data:q} --canvas-output {output.canvas:q} "
        "--border-output {output.border:q} --provenance {output.provenance:q} "
        "--threads {threads} 2> {log:q}"


TABLE_RUNS["canvas_location"] = runs_of(f"{CANVAS}/canvas_location.csv")
TABLE_RUNS["border_distance"] = runs_of(f"{CANVAS}/border_distance.csv")


rule figure_canvas_location:
    input:
        runs=TABLE_RUNS["canvas_location"],
        code=code("plot-canvas-location"),
    output:
        **figure_outputs("canvas_location", "Boundary effects"),
    log:
        f"{LOGS}/figure_canvas_location.log",
    benchmark:
        bench("figure_canvas_location")
    localrule: True
    params:
        command="plot-canvas-location",
        title=CANVAS_TITLE,
    shell:
        "python -m padpos {params.command} --runs {input.runs:q} --title {params.title:q} "
        "--output {output:q} 2> {log:q}"


use rule figure_canvas_location as figure_border_distance with:
    input:
        runs=TABLE_RUNS["border_distance"],
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
        title=STUDY_TITLE,
