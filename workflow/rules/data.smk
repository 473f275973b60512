# Data: generate (synthetic) or download (CIFAR) or index (ImageFolder) once per study.
from padpos.data import download_spec


DATA = f"{RUNS}/data"
DOWNLOAD = download_spec(config["data"])  # None for synthetic / imagefolder


if DOWNLOAD is not None:

    rule download_data:
        output:
            os.path.join(config["data"]["download_dir"], DOWNLOAD["filename"]),
        params:
            url=DOWNLOAD["url"],
            md5=DOWNLOAD["md5"],
        log:
            f"{LOGS}/download_data.log",
        shell:
            "python -m padpos download --url {params.url:q} --md5 {params.md5} "
            "--output {output:q} 2> {log:q}"


rule prepare_data:
    input:
        archive=[rules.download_data.output[0]] if DOWNLOAD is not None else [],
        code=code("data.py"),
    output:
        f"{DATA}/manifest.json",
    params:
        spec=spec_json(config["data"]),
    log:
        f"{LOGS}/prepare_data.log",
    shell:
        "python -m padpos prepare-data --spec {params.spec:q} --out-dir {DATA:q} 2> {log:q}"
