"""Manifest of the PPP stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=30,
    commands=(
        Command("ppp", "PPP metrics and heat maps of one run's checkpoints (Lin et al. 2023)", computes=True),
        Command("plot-ppp-maps", "PPP heat maps: padding schemes x network depth"),
        Command("plot-ppp-by-padding", "PPP SNR and consistency per padding scheme and layer"),
        Command("plot-ppp-formation", "PPP metrics versus training epoch per padding scheme"),
    ),
    tables=("ppp", "ppp_formation"),
    config_key="ppp",
)
