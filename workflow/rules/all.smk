# figures/all: included last, so that it sees every stage's ALL_TARGETS.


rule figures_all:
    input:
        ALL_TARGETS,
    output:
        "figures/all",
    log:
        f"{LOGS}/figures_all.log",
    localrule: True
    conda:
        ENV
    shell:
        "python -m padpos figures-index --inputs {input:q} --output {output:q} 2> {log:q}"
