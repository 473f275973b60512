# Boundary effects (Islam et al. 2021; PROTOCOLS.md 5): one job per trained run computes the
# canvas location test (a fresh net with the run's arch, padding and seed; every canvas colour)
# and the trained backbone's accuracy versus the object's distance to the border.

CANVAS = f"{RUNS}/canvas/{{arch}}/{{padding}}/seed{{seed}}"
CANVAS_CFG = config["canvas"]
CANVAS_CODE = code("canvas.py", "commands/canvas.py", "data.py", "io.py", "tables.py")
CANVAS_TITLE = (
    f"{STUDY_TITLE}; location nets {CANVAS_CFG['epochs']} epochs on "
    + f"{CANVAS_CFG['num_train'] or 'all'} images, {CANVAS_CFG['cell_size'] or config['data']['image_size']} px cells"
)


rule canvas:
    input:
        checkpoint=rules.train.output.model,
        data=rules.prepare_data.output[0],
        code=CANVAS_CODE + code("models.py", "padding.py", "train.py"),
    output:
        canvas=f"{CANVAS}/canvas_location.csv",
        border=f"{CANVAS}/border_distance.csv",
        provenance=f"{CANVAS}/provenance.json",
    log:
        f"{LOGS}/canvas/{{arch}}_{{padding}}_seed{{seed}}.log",
    conda:
        ENV
    threads: 1
    params:
        spec=lambda w: spec_json({"study": STUDY, "seed": int(w.seed), **CANVAS_CFG}),
    shell:
        "python -m padpos canvas --spec {params.spec:q} --checkpoint {input.checkpoint:q} "
        "--data {input.data:q} --canvas-output {output.canvas:q} "
        "--border-output {output.border:q} --provenance {output.provenance:q} "
        "--threads {threads} 2> {log:q}"


rule table_canvas_location:
    input:
        runs=runs_of(f"{CANVAS}/canvas_location.csv"),
        code=code("canvas.py", "commands/canvas.py", "tables.py"),
    output:
        csv=f"{TABLES}/canvas_location.csv",
        md=f"{TABLES}/canvas_location.md",
        tex=f"{TABLES}/canvas_location.tex",
    log:
        f"{LOGS}/table_canvas_location.log",
    localrule: True
    conda:
        ENV
    shell:
        "python -m padpos table-canvas-location --runs {input.runs:q} --output {output.csv:q} "
        "2> {log:q}"


rule table_border_distance:
    input:
        runs=runs_of(f"{CANVAS}/border_distance.csv"),
        code=code("canvas.py", "commands/canvas.py", "tables.py"),
    output:
        csv=f"{TABLES}/border_distance.csv",
        md=f"{TABLES}/border_distance.md",
        tex=f"{TABLES}/border_distance.tex",
    log:
        f"{LOGS}/table_border_distance.log",
    localrule: True
    conda:
        ENV
    shell:
        "python -m padpos table-border-distance --runs {input.runs:q} --output {output.csv:q} "
        "2> {log:q}"


rule figure_canvas_location:
    input:
        runs=rules.table_canvas_location.input.runs,
        code=code("plots/canvas.py", "plots/style.py", "commands/canvas.py", "canvas.py"),
    output:
        report(
            "figures/canvas_location.png",
            caption="../report/canvas_location.rst",
            category="Boundary effects",
        ),
    log:
        f"{LOGS}/figure_canvas_location.log",
    localrule: True
    conda:
        ENV
    params:
        title=CANVAS_TITLE,
    shell:
        "python -m padpos plot-canvas-location --runs {input.runs:q} --title {params.title:q} "
        "--output {output:q} 2> {log:q}"


rule figure_border_distance:
    input:
        runs=rules.table_border_distance.input.runs,
        code=code("plots/canvas.py", "plots/style.py", "commands/canvas.py"),
    output:
        report(
            "figures/border_distance.png",
            caption="../report/border_distance.rst",
            category="Boundary effects",
        ),
    log:
        f"{LOGS}/figure_border_distance.log",
    localrule: True
    conda:
        ENV
    params:
        title=STUDY_TITLE,
    shell:
        "python -m padpos plot-border-distance --runs {input.runs:q} --title {params.title:q} "
        "--output {output:q} 2> {log:q}"


ALL_TARGETS.extend(
    [
        rules.table_canvas_location.output.csv,
        rules.table_border_distance.output.csv,
        rules.figure_canvas_location.output[0],
        rules.figure_border_distance.output[0],
    ]
)
