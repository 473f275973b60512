# Pretrained models (docs/pretrained.md): position information of published models that the
# pipeline evaluates but does not train. One local rule fetches each model's weights into its
# library's cache (the only step that may download); every other job reads the cache offline.
# Off unless pretrained.models lists a model: the stage's rules (workflow/rules/pretrained/
# rules.smk) are read only then. A `python:` entry is imported and called here, so that a
# wrong one stops before any job.
from padpos.stages.pretrained.catalog import parse_models

PRETRAINED_CFG = config["pretrained"]
PRETRAINED_MODELS = {m.slug: m for m in parse_models(PRETRAINED_CFG["models"], build=True)}


if PRETRAINED_MODELS:

    include: "pretrained/rules.smk"
