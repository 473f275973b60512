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


add_figure(
    "canvas_location",
    "plot-canvas-location",
    "Boundary effects",
    {"runs": CANVAS_RUNS},
    title=CANVAS_TITLE,
)
add_figure(
    "border_distance",
    "plot-border-distance",
    "Boundary effects",
    {"runs": CANVAS_RUNS},
    title=CANVAS_TITLE,
)
