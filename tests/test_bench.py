"""padpos bench: the result's keys and ratios, the interleaved timing, the CLI's JSON.

No test asserts a speed: on a shared machine only the structure and the consistency of
the numbers measured in one run are checked."""

import json
import math

import pytest
import torch

from padpos.stages.bench import throughput as bench_mod
from padpos.cli import main

TINY = {
    "width": 4,
    "image_size": 16,
    "batch_size": 16,
    "steps": 1,
    "repeats": 2,
    "eval_images": 8,
    "schemes": ["reflect", "none"],
}


@pytest.fixture(scope="module")
def result():
    return bench_mod.bench("cpu", **TINY)


def test_bench_reports_every_ratio_and_rate(result):
    assert result["device"] == "cpu" and result["amp_bf16"] is False
    assert set(result["padding_vs_zeros"]) == {"zeros", "reflect", "none"}  # zeros added
    assert result["padding_vs_zeros"]["zeros"] == 1.0
    rates = [result["pipeline_img_s"], result["bare_img_s"], result["ppp_img_s"], result["posenet_img_s"]]
    ratios = [result["pipeline_vs_bare"], *result["padding_vs_zeros"].values()]
    assert all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in rates + ratios)
    assert result["padding_img_s"]["zeros"] == result["pipeline_img_s"]
    assert result["settings"]["threads"] == 1 and "process CPU time" in result["method"]


def test_bench_json_command_prints_one_object_with_the_required_keys(capsys, tmp_path):
    out = tmp_path / "bench.json"
    args = ["bench", "--json", "--device", "cpu", "--output", str(out), "--width", "4",
            "--image-size", "16", "--batch-size", "8", "--steps", "1", "--repeats", "1",
            "--eval-images", "4", "--schemes", "zeros,circular"]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    for key in ("device", "pipeline_vs_bare", "padding_vs_zeros", "ppp_img_s", "posenet_img_s"):
        assert key in printed
    assert set(printed["padding_vs_zeros"]) == {"zeros", "circular"}
    assert json.loads(out.read_text()) == printed


def test_unknown_settings_and_schemes_are_errors_naming_them():
    with pytest.raises(ValueError, match="stepz"):
        bench_mod.bench("cpu", stepz=3)
    with pytest.raises(ValueError, match="mirror"):
        bench_mod.bench("cpu", schemes=["mirror"])
    with pytest.raises(ValueError, match="repeats"):
        bench_mod.bench("cpu", repeats=0)


def test_interleaved_timing_rotates_the_order_and_warms_up_once():
    order = []
    runners = {name: (lambda name=name: order.append(name)) for name in "abc"}
    times = bench_mod.time_interleaved(runners, 3, torch.device("cpu"))
    assert order == list("abc") + list("abc") + list("bca") + list("cab")
    assert all(len(t) == 3 for t in times.values())


def test_median_ratio_is_the_median_of_per_repeat_ratios():
    # a load burst in one repeat (third pair) slows both and does not move the median
    assert bench_mod.median_ratio([1.0, 1.0, 5.0], [2.0, 2.0, 9.0]) == pytest.approx(0.5)


def test_the_commands_defaults_are_the_science_defaults():
    """``padpos bench`` with no options runs bench() with its own DEFAULTS (the command
    reads them from the torch-free settings module, its --help shows them)."""
    import argparse

    from padpos.stages.bench.commands import configure_bench, settings_from_args

    parser = argparse.ArgumentParser()
    configure_bench(parser)
    settings = settings_from_args(parser.parse_args([]))
    assert settings == {k: v for k, v in bench_mod.DEFAULTS.items() if k in settings}
    assert set(bench_mod.DEFAULTS) - set(settings) == {"schemes", "seed"}


def test_every_same_size_scheme_is_benched_by_default():
    from padpos.names import SAME_SIZE_SCHEMES

    assert bench_mod.DEFAULTS["schemes"] == list(SAME_SIZE_SCHEMES)
    assert "symmetric" in SAME_SIZE_SCHEMES


def test_allocator_tuning_leaves_a_users_malloc_settings_alone(monkeypatch):
    from padpos import runtime

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "0")
    assert runtime.tune_cpu_allocator() is False


def test_bare_model_is_the_unconverted_architecture():
    from padpos.models import build_model

    bare = bench_mod.bare_model("small_resnet", 4)
    piped = build_model("small_resnet", "zeros", bench_mod.NUM_CLASSES, width=4)
    assert type(bare.conv1) is torch.nn.Conv2d
    assert [k for k in bare.state_dict()] == [k for k in piped.state_dict()]
