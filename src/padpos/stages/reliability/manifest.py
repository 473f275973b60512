"""Manifest of the metric-reliability stage (torch-free)."""

from padpos.stages.manifest import Command, Manifest

MANIFEST = Manifest(
    order=80,
    commands=(
        Command(
            "reliability-reference",
            "metric reliability: the padding-free control, its dose calibration and CoordConv",
            computes=True,
        ),
        Command(
            "reliability-backbones",
            "metric reliability: PPP, PosENet and location test on one arch's backbones",
            computes=True,
        ),
        Command(
            "reliability-behaviour",
            "metric reliability by behaviour: one regime's box nets trained, then every metric on them",
            computes=True,
        ),
        Command("plot-metric-reliability", "PPP, PosENet and location test side by side per network, truth marked"),
        Command("plot-metric-comparison", "each metric's separation, gap correlation and false positives on the box nets"),
        Command("plot-metric-calibration", "each reliability metric versus the injected position dose"),
    ),
    tables=(
        "metric_reliability", "metric_calibration", "metric_reliability_summary",
        "metric_comparison", "metric_behaviour",
    ),  # fmt: skip
    config_key="reliability",
    defaults="runs:DEFAULTS",
)
