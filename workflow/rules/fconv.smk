# F-Conv tests (Kayhan & van Gemert 2020; PROTOCOLS.md 4): the Red-Green test (one job per
# conv type, every seed: job start-up would dominate per-seed jobs) and the location test
# (one job per padding x init x seed, the whole border sweep) -> tables and figures.

FCONV = f"{RUNS}/fconv"
REDGREEN = config["fconv"]["redgreen"]
LOCATION = config["fconv"]["location"]


rule fconv_redgreen:
    input:
        code=code("padding.py", "fconv/__init__.py", "fconv/redgreen.py"),
    output:
        csv=f"{FCONV}/redgreen/{{variant}}.csv",
        provenance=f"{FCONV}/redgreen/{{variant}}.provenance.json",
    log:
        f"{LOGS}/fconv/redgreen_{{variant}}.log",
    wildcard_constraints:
        variant="[a-z0-9_]+",
    conda:
        ENV
    threads: 1
    params:
        # every setting but the list of variants: adding a variant re-runs only that one
        spec=lambda w: spec_json(
            {"variant": w.variant, **{k: v for k, v in REDGREEN.items() if k != "variants"}}
        ),
    shell:
        "python -m padpos fconv-redgreen --spec {params.spec:q} --output {output.csv:q} "
        "--threads {threads} 2> {log:q}"


rule table_fconv_redgreen:
    input:
        runs=expand(f"{FCONV}/redgreen/{{variant}}.csv", variant=REDGREEN["variants"]),
        code=code("fconv/__init__.py", "fconv/redgreen.py", "tables.py"),
    output:
        csv=f"{TABLES}/fconv_redgreen.csv",
        md=f"{TABLES}/fconv_redgreen.md",
        tex=f"{TABLES}/fconv_redgreen.tex",
    log:
        f"{LOGS}/table_fconv_redgreen.log",
    localrule: True
    conda:
        ENV
    shell:
        "python -m padpos table-fconv-redgreen --runs {input.runs:q} --output {output.csv:q} "
        "2> {log:q}"


rule figure_fconv_redgreen:
    input:
        runs=rules.table_fconv_redgreen.input.runs,
        code=code("plots/fconv.py", "plots/style.py", "fconv/redgreen.py"),
    output:
        report(
            "figures/fconv_redgreen.png",
            caption="../report/fconv_redgreen.rst",
            category="F-Conv tests",
        ),
    log:
        f"{LOGS}/figure_fconv_redgreen.log",
    localrule: True
    conda:
        ENV
    params:
        spec=spec_json(REDGREEN),
    shell:
        "python -m padpos plot-fconv-redgreen --runs {input.runs:q} --spec {params.spec:q} "
        "--output {output:q} 2> {log:q}"


LOCATION_RUNS = expand(
    f"{FCONV}/location/{{padding}}/{{init}}/seed{{seed}}.csv",
    padding=LOCATION["paddings"],
    init=LOCATION["inits"],
    seed=LOCATION["seeds"],
)


rule fconv_location:
    input:
        data=rules.prepare_data.output[0],
        code=code("padding.py", "data.py", "train.py", "fconv/__init__.py", "fconv/location.py"),
    output:
        csv=f"{FCONV}/location/{{padding}}/{{init}}/seed{{seed}}.csv",
        provenance=f"{FCONV}/location/{{padding}}/{{init}}/seed{{seed}}.provenance.json",
    log:
        f"{LOGS}/fconv/location_{{padding}}_{{init}}_seed{{seed}}.log",
    wildcard_constraints:
        init="random-frozen|scratch",
    conda:
        ENV
    threads: 1
    params:
        spec=lambda w: spec_json(
            {
                "padding": w.padding,
                "init": w.init,
                "seed": int(w.seed),
                **{k: v for k, v in LOCATION.items() if k not in ("paddings", "inits", "seeds")},
            }
        ),
    shell:
        "python -m padpos fconv-location --spec {params.spec:q} --data {input.data:q} "
        "--output {output.csv:q} --threads {threads} 2> {log:q}"


rule table_fconv_location:
    input:
        runs=LOCATION_RUNS,
        code=code("fconv/__init__.py", "fconv/location.py", "tables.py"),
    output:
        csv=f"{TABLES}/fconv_location.csv",
        md=f"{TABLES}/fconv_location.md",
        tex=f"{TABLES}/fconv_location.tex",
    log:
        f"{LOGS}/table_fconv_location.log",
    localrule: True
    conda:
        ENV
    shell:
        "python -m padpos table-fconv-location --runs {input.runs:q} --output {output.csv:q} "
        "2> {log:q}"


rule figure_fconv_location:
    input:
        runs=LOCATION_RUNS,
        code=code("plots/fconv.py", "plots/style.py", "fconv/location.py"),
    output:
        report(
            "figures/fconv_location.png",
            caption="../report/fconv_location.rst",
            category="F-Conv tests",
        ),
    log:
        f"{LOGS}/figure_fconv_location.log",
    localrule: True
    conda:
        ENV
    params:
        spec=spec_json(LOCATION),
    shell:
        "python -m padpos plot-fconv-location --runs {input.runs:q} --spec {params.spec:q} "
        "--output {output:q} 2> {log:q}"


ALL_TARGETS.extend(
    [
        rules.table_fconv_redgreen.output.csv,
        rules.figure_fconv_redgreen.output[0],
        rules.table_fconv_location.output.csv,
        rules.figure_fconv_location.output[0],
    ]
)
