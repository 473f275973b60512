"""Manifest of the Red-Green stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=50,
    commands=(
        Command(
            "fconv-redgreen",
            "F-Conv Red-Green test: every seed of one conv type (Kayhan & van Gemert 2020)",
            computes=True,
        ),
        Command("plot-fconv-redgreen", "Red-Green accuracy on the similar and dissimilar test sets"),
    ),
    tables=("fconv_redgreen",),
    config_key="fconv.redgreen",
    defaults="redgreen:DEFAULTS",
)
