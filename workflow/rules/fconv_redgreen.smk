# The Red-Green test of the F-Conv paper (Kayhan & van Gemert 2020; docs/protocols.md 4a):
# one job per conv type running every seed (job start-up would dominate per-seed jobs)
# -> its table and figure.

REDGREEN = config["fconv"]["redgreen"]


rule fconv_redgreen:
    input:
        code=code("fconv-redgreen"),
    output:
        csv=f"{RUNS}/fconv/redgreen/{{variant}}.csv",
        provenance=f"{RUNS}/fconv/redgreen/{{variant}}.provenance.json",
    log:
        f"{LOGS}/fconv/redgreen_{{variant}}.log",
    benchmark:
        bench("fconv_redgreen", "{variant}")
    wildcard_constraints:
        variant="[a-z0-9_]+",
    threads: 1
    resources:
        gpu=GPU_JOB,
    params:
        # every setting but the list of variants: adding a variant re-runs only that one
        spec=lambda w: spec_json(
            {"variant": w.variant, **{k: v for k, v in REDGREEN.items() if k != "variants"}}
        ),
    shell:
        "python -m padpos fconv-redgreen --spec {params.spec:q} --output {output.csv:q} "
        "--threads {threads} 2> {log:q}"


TABLE_RUNS["fconv_redgreen"] = expand(
    f"{RUNS}/fconv/redgreen/{{variant}}.csv", variant=REDGREEN["variants"]
)


add_figure(
    "fconv_redgreen",
    "plot-fconv-redgreen",
    "F-Conv tests",
    {"runs": TABLE_RUNS["fconv_redgreen"]},
    spec=spec_json(REDGREEN),
)
