# Data: generate (synthetic) or download (CIFAR) or index (ImageFolder) once per study.
from padpos.data import download_spec

DATA = f"{RUNS}/data"
DOWNLOAD = download_spec(config["data"])  # None for synthetic / imagefolder


if DOWNLOAD is not None:

    rule download_data:
        output:
            os.path.join(config["data"]["download_dir"], DOWNLOAD["filename"]),
        log:
            f"{LOGS}/download_data.log",
        localrule: True
        conda:
            ENV
        params:
            url=DOWNLOAD["url"],
            md5=DOWNLOAD["md5"],
        shell:
            "python -m padpos download --url {params.url:q} --md5 {params.md5} "
            "--output {output:q} 2> {log:q}"


rule prepare_data:
    input:
        archive=[rules.download_data.output[0]] if DOWNLOAD is not None else [],
        code=code("data.py"),
    output:
        f"{DATA}/manifest.json",
    log:
        f"{LOGS}/prepare_data.log",
    conda:
        ENV
    params:
        spec=spec_json(config["data"]),
    shell:
        "python -m padpos prepare-data --spec {params.spec:q} --out-dir $(dirname {output:q}) 2> {log:q}"
