# F-Conv tests (Kayhan & van Gemert 2020; PROTOCOLS.md 4): the Red-Green test (one job per
# conv type, every seed: job start-up would dominate per-seed jobs) and the location test
# (one job per padding x init, the border sweep of every seed) -> tables and figures.

FCONV = f"{RUNS}/fconv"
REDGREEN = config["fconv"]["redgreen"]
LOCATION = config["fconv"]["location"]


rule fconv_redgreen:
    input:
        code=code("fconv-redgreen"),
    output:
        csv=f"{FCONV}/redgreen/{{variant}}.csv",
        provenance=f"{FCONV}/redgreen/{{variant}}.provenance.json",
    log:
        f"{LOGS}/fconv/redgreen_{{variant}}.log",
    benchmark:
        bench("fconv_redgreen", "{variant}")
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


BENCHMARKS += expand(bench("fconv_redgreen", "{variant}"), variant=REDGREEN["variants"])


TABLE_RUNS["fconv_redgreen"] = expand(
    f"{FCONV}/redgreen/{{variant}}.csv", variant=REDGREEN["variants"]
)


rule figure_fconv_redgreen:
    input:
        runs=TABLE_RUNS["fconv_redgreen"],
        code=code("plot-fconv-redgreen"),
    output:
        report(
            figure("fconv_redgreen"),
            caption="../report/fconv_redgreen.rst",
            category="F-Conv tests",
        ),
    log:
        f"{LOGS}/figure_fconv_redgreen.log",
    benchmark:
        bench("figure_fconv_redgreen")
    localrule: True
    conda:
        ENV
    params:
        spec=spec_json(REDGREEN),
    shell:
        "python -m padpos plot-fconv-redgreen --runs {input.runs:q} --spec {params.spec:q} "
        "--output {output:q} 2> {log:q}"


BENCHMARKS += [bench("figure_fconv_redgreen")]


rule fconv_location:
    input:
        data=rules.prepare_data.output[0],
        code=code("fconv-location"),
    output:
        csv=f"{FCONV}/location/{{padding}}/{{init}}.csv",
        provenance=f"{FCONV}/location/{{padding}}/{{init}}.provenance.json",
    log:
        f"{LOGS}/fconv/location_{{padding}}_{{init}}.log",
    benchmark:
        bench("fconv_location", "{padding}_{init}")
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
                **{k: v for k, v in LOCATION.items() if k not in ("paddings", "inits")},
            }
        ),
    shell:
        "python -m padpos fconv-location --spec {params.spec:q} --data {input.data:q} "
        "--output {output.csv:q} --threads {threads} 2> {log:q}"


BENCHMARKS += expand(
    bench("fconv_location", "{padding}_{init}"),
    padding=LOCATION["paddings"],
    init=LOCATION["inits"],
)


TABLE_RUNS["fconv_location"] = expand(
    f"{FCONV}/location/{{padding}}/{{init}}.csv",
    padding=LOCATION["paddings"],
    init=LOCATION["inits"],
)


rule figure_fconv_location:
    input:
        runs=TABLE_RUNS["fconv_location"],
        code=code("plot-fconv-location"),
    output:
        report(
            figure("fconv_location"),
            caption="../report/fconv_location.rst",
            category="F-Conv tests",
        ),
    log:
        f"{LOGS}/figure_fconv_location.log",
    benchmark:
        bench("figure_fconv_location")
    localrule: True
    conda:
        ENV
    params:
        spec=spec_json(LOCATION),
    shell:
        "python -m padpos plot-fconv-location --runs {input.runs:q} --spec {params.spec:q} "
        "--output {output:q} 2> {log:q}"


BENCHMARKS += [bench("figure_fconv_location")]
