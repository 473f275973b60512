# Data: generate (synthetic) or download (CIFAR) or index (ImageFolder) once per study.
import re

from padpos.data import download_spec

DATA = f"{RUNS}/data"
DOWNLOAD = download_spec(config["data"])  # None for synthetic / imagefolder
DOWNLOAD_DIR = config["data"]["download_dir"]


rule download_data:
    output:
        f"{DOWNLOAD_DIR}/{{archive}}",
    log:
        f"{LOGS}/download_data_{{archive}}.log",
    benchmark:
        bench("download_data", "{archive}")
    wildcard_constraints:
        # the study's archive only (a pattern that matches nothing when there is none)
        archive=re.escape(DOWNLOAD["filename"]) if DOWNLOAD else "(?!)",
    localrule: True
    params:
        url=DOWNLOAD["url"] if DOWNLOAD else "",
        md5=DOWNLOAD["md5"] if DOWNLOAD else "",
    shell:
        "python -m padpos download --url {params.url:q} --md5 {params.md5} "
        "--output {output:q} 2> {log:q}"


rule prepare_data:
    input:
        archive=[f"{DOWNLOAD_DIR}/{DOWNLOAD['filename']}"] if DOWNLOAD else [],
        code=code("prepare-data"),
    output:
        f"{DATA}/manifest.json",
    log:
        f"{LOGS}/prepare_data.log",
    benchmark:
        bench("prepare_data")
    params:
        spec=spec_json(config["data"]),
    shell:
        "python -m padpos prepare-data --spec {params.spec:q} --out-dir $(dirname {output:q}) 2> {log:q}"
