"""PosENet readout: targets, SPC / MAE, the readout and its padding, the tables."""

import math

import pandas as pd
import pytest
import torch

from padpos.data.pixels import normalise_pixels, to_pixels
from padpos.probes import readout as pn
from padpos.stages import build_table


# ---------------------------------------------------------------- targets
@pytest.mark.parametrize("h,w", [(32, 32), (24, 40)])
def test_targets_are_minmax_normalised(h, w):
    t = pn.position_targets(h, w)
    assert t.shape == (5, h, w)
    assert torch.allclose(t.amin((1, 2)), torch.zeros(5))
    assert torch.allclose(t.amax((1, 2)), torch.ones(5))


def test_gradients_are_monotone_in_their_direction_only():
    H, V = pn.position_targets(20, 30)[:2]
    assert (H[:, 1:] > H[:, :-1]).all() and (H == H[:1]).all()  # left -> right, same every row
    assert (V[1:] > V[:-1]).all() and (V == V[:, :1]).all()  # top -> bottom, same every column
    assert H[0, 0] == 0 and H[0, -1] == 1 and V[0, 0] == 0 and V[-1, 0] == 1


def test_gaussian_peaks_at_the_centre_with_sigma_half_the_width():
    G = pn.position_targets(33)[2]
    assert G[16, 16] == 1.0 and G.argmax() == 16 * 33 + 16
    assert torch.allclose(G, G.flip(0)) and torch.allclose(G, G.flip(1)) and torch.allclose(G, G.T)
    # before min-max, exp(-d^2 / (2 sigma^2)) with sigma = 33 / 2: check the ratio along the middle row
    raw = torch.exp(-((torch.arange(33.0) - 16) ** 2) / (2 * 16.5**2))
    corner = math.exp(-(2 * 16**2) / (2 * 16.5**2))  # the map's minimum is in the corners
    expected = (raw - corner) / (1 - corner)
    assert torch.allclose(G[16], expected.float(), atol=1e-6)


def _crossings(profile: torch.Tensor) -> int:
    c = profile - 0.5
    return int(((c[1:] * c[:-1]) < 0).sum())


@pytest.mark.parametrize("size", [32, 64, 224])
def test_stripes_have_two_and_a_half_periods_along_their_axis(size):
    HS, VS = pn.position_targets(size)[3:]
    assert (HS == HS[:, :1]).all() and (VS == VS[:1]).all()  # HS varies along y, VS along x
    # 2.5 periods = 5 half-periods = 5 crossings of the mid level
    assert _crossings(HS[:, 0]) == 5 and _crossings(VS[0]) == 5
    assert torch.allclose(HS[:, 0], VS[0])


@pytest.mark.parametrize("size", [32, 40])
def test_stripes_are_sampled_at_pixel_centres_like_the_official_maps(size):
    """0.5 + 0.5 cos(2 pi (y + 0.5) / P): with 2.5 periods the stripe is antisymmetric
    about the image centre (flipped = 1 - map), which pixel-index sampling is not."""
    HS, VS = pn.position_targets(size)[3:]
    period = size / 2.5
    y = torch.arange(size, dtype=torch.float64)
    raw = 0.5 + 0.5 * torch.cos(2 * math.pi * (y + 0.5) / period)
    expected = (raw - raw.min()) / (raw.max() - raw.min())
    assert torch.allclose(HS[:, 0], expected.float(), atol=1e-6)
    assert torch.allclose(VS[0], expected.float(), atol=1e-6)
    assert torch.allclose(HS.flip(0), 1 - HS, atol=1e-6)


def test_each_readout_trains_as_if_alone():
    """One loss per target: channel 0 of a 5-target readout ends where a readout trained
    on target 0 alone ends (the same initial weights, batches and updates). With a
    mean over the 5 channels its gradient would be 1/5 and the weights would differ."""
    torch.manual_seed(0)
    features = torch.randn(24, 4, 6, 6)
    targets = pn.position_targets(16)
    five = pn.train_readout(features, targets, epochs=3, batch_size=8, seed=2)
    alone = pn.train_readout(features, targets[:1], epochs=3, batch_size=8, seed=2)
    torch.testing.assert_close(five.conv.weight[:1], alone.conv.weight, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(five.bn.weight[:1], alone.bn.weight, rtol=1e-4, atol=1e-6)


def test_readout_loss_is_the_sum_of_per_target_mses():
    pred, targets = torch.rand(3, 5, 8, 8), torch.rand(5, 8, 8)
    per_target = [torch.nn.functional.mse_loss(pred[:, k], targets[k].expand(3, 8, 8)) for k in range(5)]
    torch.testing.assert_close(pn.readout_loss(pred, targets), torch.stack(per_target).sum())


# ---------------------------------------------------------------- SPC / MAE
def test_spc_perfect_reversed_and_constant():
    x = torch.randn(4, 50)
    assert torch.allclose(pn.spearman(x, x), torch.ones(4, dtype=torch.float64))
    assert torch.allclose(pn.spearman(-x, x), -torch.ones(4, dtype=torch.float64))
    c = pn.spearman(torch.full((4, 50), 0.3), x)
    assert not torch.isnan(c).any() and (c == 0).all()


def test_spc_is_rank_based_and_averages_ties():
    x = torch.tensor([1.0, 2.0, 2.0, 3.0])
    assert torch.equal(pn.tie_ranks(x), torch.tensor([1.0, 2.5, 2.5, 4.0], dtype=torch.float64))
    y = torch.tensor([0.1, 0.2, 5.0, 100.0])  # monotone but not linear
    assert pn.spearman(y**3, y).item() == pytest.approx(1.0)
    # Pearson of the average ranks [1, 2.5, 2.5, 4] and [1, 2, 3, 4]
    assert pn.spearman(x, y).item() == pytest.approx(4.5 / math.sqrt(4.5 * 5.0))


def test_score_maps_shapes_and_mae():
    t = pn.position_targets(8)
    perfect = t.expand(3, 5, 8, 8).double()
    s = pn.score_maps(perfect, t)
    assert s["spc"].shape == (3, 5) and torch.allclose(s["spc"], torch.ones(3, 5, dtype=torch.float64))
    assert (s["mae"] == 0).all()
    assert torch.allclose(pn.score_maps(1 - perfect, t)["spc"], -torch.ones(3, 5, dtype=torch.float64))


# ---------------------------------------------------------------- readout
@pytest.mark.parametrize("padding", [0, 1, 2])
def test_readout_output_shape(padding):
    readout = pn.PosENet(7, padding=padding).eval()
    x = torch.randn(2, 7, 8, 8)
    side = 8 - 2 + 2 * padding
    assert readout(x).shape == (2, 5, side, side)
    y = readout(x, (32, 32))
    assert y.shape == (2, 5, 32, 32) and ((y > 0) & (y < 1)).all()


def test_readout_decodes_features_that_are_a_linear_map_of_h():
    torch.manual_seed(0)
    grid, size = 8, 32
    h = pn.position_targets(grid)[0]
    weights, offsets = torch.randn(4, 1, 1), torch.randn(4, 1, 1)
    features = (weights * h + offsets).expand(48, 4, grid, grid)
    features = features + 0.05 * torch.randn_like(features)
    targets = pn.position_targets(size)
    readout = pn.train_readout(features, targets, epochs=10, batch_size=16)
    scores = pn.evaluate_readout(readout, features, targets)
    assert scores[("H", "spc")] > 0.95
    assert scores[("H", "mae")] < scores[("V", "mae")]


def _random_readout(padding: int) -> pn.PosENet:
    torch.manual_seed(1)
    readout = pn.PosENet(3, padding=padding)
    readout.bn.running_mean.uniform_(-0.5, 0.5)
    return readout.eval()


def test_padding0_readout_is_position_free_on_constant_input_padding1_is_not():
    x = torch.full((1, 3, 8, 8), 1.5)
    pred0 = pn.predict(_random_readout(0), x, (32, 32))
    spread = pred0.amax((-2, -1)) - pred0.amin((-2, -1))
    assert (spread < 1e-12).all()  # each readout's map is constant, up to float64 rounding
    targets = pn.position_targets(32)
    assert (pn.score_maps(pred0, targets)["spc"] == 0).all()
    pred1 = pn.predict(_random_readout(1), x, (32, 32))
    assert ((pred1.amax((-2, -1)) - pred1.amin((-2, -1))) > 1e-3).all()
    # the border differs from the interior: position information made by the padding
    assert not torch.allclose(pred1[..., 0, :], pred1[..., 16, :])


# ---------------------------------------------------------------- features and inputs
def test_grid_size():
    assert pn.grid_size(224) == 28 and pn.grid_size(448) == 56
    assert pn.grid_size(32) == 8 and pn.grid_size(32, floor=12) == 12
    assert pn.grid_size(32, grid=5) == 5


def test_multilevel_features_concatenate_every_tap_on_the_grid():
    from padpos.models import build_model, feature_layers

    model = build_model("small_resnet", "zeros", num_classes=3, width=4).eval()
    feats = pn.multilevel_features(model, torch.randn(3, 3, 32, 32), feature_layers("small_resnet"), 8, batch_size=2)
    assert feats.shape == (3, 4 + 8 + 16 + 32, 8, 8)


def test_resize_to_grid_keeps_constants_and_sees_the_border():
    assert torch.allclose(pn.resize_to_grid(torch.full((1, 2, 32, 32), 0.7), 8), torch.tensor(0.7))
    x = torch.zeros(1, 1, 32, 32)
    x[..., :, 0] = 1.0  # only the outermost column is lit
    assert pn.resize_to_grid(x, 8)[..., :, 0].min() > 0  # antialiasing averages it in


def test_synthetic_inputs_in_pixel_space_then_normalised():
    assert (pn.synthetic_images("black", 16) == 0).all()
    assert (pn.synthetic_images("white", 16) == 1).all()
    noise = pn.synthetic_images("noise", 16, n_noise=5, noise_std=0.25, seed=3)
    assert noise.shape == (5, 3, 16, 16) and noise.min() >= 0 and noise.max() <= 1
    assert abs(noise.mean().item() - 0.5) < 0.02 and 0.2 < noise.std().item() < 0.26
    assert torch.equal(noise, pn.synthetic_images("noise", 16, n_noise=5, noise_std=0.25, seed=3))
    inputs = pn.evaluation_inputs(torch.zeros(2, 3, 16, 16), [0.5, 0.4, 0.3], [0.2, 0.2, 0.1], 4, 0.25)
    assert list(inputs) == list(pn.INPUTS)
    assert torch.allclose(inputs["black"][0, :, 0, 0], torch.tensor([-2.5, -2.0, -3.0]))
    with pytest.raises(ValueError, match="allowed: black, white, noise"):
        pn.synthetic_images("grey", 16)


def test_readout_experiment_scores_every_target_input_and_metric():
    torch.manual_seed(0)
    images = torch.randn(12, 3, 16, 16)
    inputs = pn.evaluation_inputs(images[:4], [0.5] * 3, [0.25] * 3, 3, 0.25)
    spec = pn.spec_with_defaults({"epochs": 2, "batch_size": 4, "num_examples": 2})
    table, examples = pn.readout_experiment(lambda x: pn.resize_to_grid(x, 8), images, inputs, spec, 1, 0)
    assert len(table) == 5 * 4 * 2 and table["value"].notna().all()
    assert set(table["input"]) == set(pn.INPUTS) and set(table["metric"]) == {"spc", "mae"}
    assert examples["pred_natural"].shape == (2, 5, 16, 16) and examples["pred_black"].shape == (1, 5, 16, 16)
    assert examples["targets"].shape == (5, 16, 16)


def test_spec_with_defaults_names_an_unknown_key():
    with pytest.raises(ValueError, match="epoch"):
        pn.spec_with_defaults({"epoch": 3})


# ---------------------------------------------------------------- tables
def _runs(scheme_col: str, schemes, archs=("small_resnet",)) -> pd.DataFrame:
    rows = []
    for arch in archs:
        for scheme in schemes:
            for seed in (0, 1):
                for target in pn.TARGETS:
                    for inp in pn.INPUTS:
                        for metric in pn.METRICS:
                            rows.append(
                                {"study": "t", "arch": arch, scheme_col: scheme, "seed": seed, "target": target,
                                 "input": inp, "metric": metric, "value": seed + 0.5}
                            )
    df = pd.DataFrame(rows)
    return df.drop(columns="arch") if scheme_col == "readout_padding" else df


def test_posenet_table_columns_and_aggregation():
    out = build_table("posenet", _runs("padding", ["zeros", "circular"]))
    assert list(out.columns) == ["padding", "target", "input", "metric", "mean", "std", "n", "ci95", "n_failed"]
    assert len(out) == 2 * 5 * 4 * 2 and (out["n"] == 2).all()
    assert out["mean"].eq(1.0).all() and out["std"].round(6).eq(round(math.sqrt(0.5), 6)).all()
    assert list(out["padding"].unique()) == ["zeros", "circular"]  # config order kept
    assert list(out["target"][:5]) == list(pn.TARGETS)


def test_posenet_table_adds_arch_for_several_archs_and_readout_padding_for_alone():
    several = build_table("posenet", _runs("padding", ["zeros"], archs=("small_resnet", "small_vgg")))
    assert list(several.columns)[:2] == ["arch", "padding"]
    alone = build_table("posenet_alone", _runs("readout_padding", [0, 1, 2]))
    assert list(alone.columns) == ["readout_padding", "target", "input", "metric", "mean", "std", "n", "ci95",
                                   "n_failed"]
    assert list(alone["readout_padding"].unique()) == [0, 1, 2]


# ---------------------------------------------------------------- figures
def test_spc_figure_has_labelled_panels_for_every_input():
    from padpos.stages.posenet import figures as plots

    fig = plots.plot_spc(build_table("posenet", _runs("padding", ["zeros", "circular"])), "test study")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [plots.INPUT_LABELS[i] for i in pn.INPUTS]
    assert all(ax.get_xlabel() == "position target" for ax in fig.axes)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["zeros", "circular"]
    assert "test study" in fig._suptitle.get_text()


def test_examples_figure_from_the_files_a_run_writes(tmp_path):
    from padpos.stages.posenet import figures as plots

    torch.manual_seed(0)
    images = torch.randn(8, 3, 16, 16)
    inputs = pn.evaluation_inputs(images[:3], [0.5] * 3, [0.25] * 3, 2, 0.25)
    spec = pn.spec_with_defaults({"epochs": 1, "batch_size": 4, "num_examples": 2})
    runs = []
    for padding in ("zeros", "circular"):
        table, examples = pn.readout_experiment(lambda x: pn.resize_to_grid(x, 6), images, inputs, spec, 0, 0)
        examples["images"] = to_pixels(images[:2], [0.5] * 3, [0.25] * 3).clamp(0, 1).numpy()
        out = {k: tmp_path / f"{padding}.{k}" for k in ("output", "predictions", "provenance")}
        ids = {"study": "t", "arch": "small_resnet", "padding": padding, "seed": 0}
        pn._write_run(table, ids, examples, out, {"spec": spec})
        assert list(pd.read_csv(out["output"]).columns[:4]) == ["study", "arch", "padding", "seed"]
        runs.append(plots.load_examples(out["predictions"]))
    fig = plots.plot_examples(runs, "test study")
    assert len(fig.axes) == 3 * 12 + 1  # rows x (label, image, 2 x 5 maps) + colour bar
    assert runs[1]["meta"]["padding"] == "circular"


def test_pixel_space_inputs_keep_black_exactly_zero():
    natural = normalise_pixels(torch.rand(2, 3, 8, 8), [0.4, 0.5, 0.6], [0.2, 0.25, 0.3])
    inputs = pn.evaluation_inputs(natural, [0.4, 0.5, 0.6], [0.2, 0.25, 0.3], 2, 0.25, pixels=True)
    assert (inputs["black"] == 0).all() and (inputs["white"] == 1).all()
    assert inputs["natural"].min() >= -1e-6 and inputs["natural"].max() <= 1 + 1e-6


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    """A tiny synthetic data set and a small_resnet checkpoint (untrained, BN estimated)."""
    from tiny import synthetic_data
    from padpos.io import save_torch
    from padpos.models import build_model, checkpoint_dict

    root = tmp_path_factory.mktemp("posenet")
    synthetic_data(root / "data", num_train=16, num_test=8, seed=5)
    torch.manual_seed(0)
    meta = {"arch": "small_resnet", "padding": "zeros", "num_classes": 10, "width": 4,
            "seed": 0, "epoch": 1, "image_size": 16}
    save_torch(root / "model.pt", checkpoint_dict(build_model("small_resnet", "zeros", 10, width=4), meta))
    return root


@pytest.mark.parametrize("command", ["posenet", "posenet-alone"])
def test_commands_ask_for_cuda_and_record_the_cpu_without_one(command, tiny_study, tmp_path, monkeypatch):
    import json

    from padpos.cli import main

    asked = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: asked.append(True) or False)
    spec = {"study": "t", "seed": 0, "epochs": 1, "batch_size": 8, "noise_images": 2}
    if command == "posenet":
        spec.update(arch="small_resnet", padding="zeros")
        extra = ["--checkpoint", str(tiny_study / "model.pt")]
    else:
        spec.update(readout_padding=1)
        extra = []
    outputs = {k: str(tmp_path / f"run.{k}") for k in ("output", "predictions", "provenance")}
    main([command, "--spec", json.dumps(spec), "--data", str(tiny_study / "data" / "manifest.json"),
          *extra, *[a for k, v in outputs.items() for a in (f"--{k}", v)]])
    assert asked
    assert json.loads(open(outputs["provenance"]).read())["device"] == "cpu"
    assert pd.read_csv(outputs["output"])["value"].notna().all()
