# The location (quadrant) test of the F-Conv paper (Kayhan & van Gemert 2020; docs/protocols.md
# 4b): one job per padding x init running the border sweep of every seed -> its table and figure.

LOCATION = config["fconv"]["location"]


rule fconv_location:
    input:
        data=rules.prepare_data.output[0],
        code=code("fconv-location"),
    output:
        csv=f"{RUNS}/fconv/location/{{padding}}/{{init}}.csv",
        provenance=f"{RUNS}/fconv/location/{{padding}}/{{init}}.provenance.json",
    log:
        f"{LOGS}/fconv/location_{{padding}}_{{init}}.log",
    benchmark:
        bench("fconv_location", "{padding}_{init}")
    wildcard_constraints:
        init="random-frozen|scratch",
    threads: 1
    resources:
        gpu=GPU_JOB,
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


TABLE_RUNS["fconv_location"] = expand(
    f"{RUNS}/fconv/location/{{padding}}/{{init}}.csv",
    padding=LOCATION["paddings"],
    init=LOCATION["inits"],
)


add_figure(
    "fconv_location",
    "plot-fconv-location",
    "F-Conv tests",
    {"runs": TABLE_RUNS["fconv_location"]},
    spec=spec_json(LOCATION),
)
