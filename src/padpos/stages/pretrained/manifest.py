"""Manifest of the pretrained-model stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=85,
    commands=(
        Command("pretrained-fetch", "download a pretrained model's weights into its library's cache, record the sha256"),
        Command("pretrained-photos", "photo check: top-1 / top-5 of a pretrained model on three labelled photographs at its native size"),
        Command("pretrained-images", "the natural images (with real context) that every pretrained model is measured on"),
        Command("pretrained-posenet", "PosENet readout of one pretrained model's frozen features", computes=True),
        Command("pretrained-posenet-alone", "PosENet alone on the pretrained stage's images (raw RGB, pad 0)", computes=True),
        Command("pretrained-ppp", "PPP with real context of one pretrained model, per tapped layer", computes=True),
        Command("pretrained-location", "location (quadrant) test on one pretrained model's frozen features", computes=True),
        Command("plot-pretrained-table1", "[ISL20] Table 1 style: PosENet SPC / MAE per pretrained model and target"),
        Command("plot-pretrained-posenet", "PosENet SPC of the pretrained models on natural, black, white, noise inputs"),
        Command("plot-pretrained-layers", "PosENet, PPP and the location test per tapped layer of each pretrained model"),
        Command("plot-pretrained-ppp-maps", "PPP heat maps of the pretrained models per tapped layer"),
    ),
    tables=("pretrained_posenet", "pretrained_ppp", "pretrained_location", "pretrained_photos"),
    config_key="pretrained",
    defaults="catalog:DEFAULTS",
)
