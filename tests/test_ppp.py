"""PPP metrics: exact values on constructed nets, and the properties of docs/protocols.md section 2."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from padpos.features import context_margin, feature_sizes, layer_geometry
from padpos.probes.pattern import (
    PatternStats,
    accumulate_ppp,
    ring_index,
    consistency,
    layer_metrics,
    reach_px,
    snr_db,
)

SIZE = 24


def scenes(n, size, margin, seed=0, offset=0.0):
    """Random scenes with ``margin`` px of real context: (x, x_plus), x the centre of x_plus."""
    g = torch.Generator().manual_seed(seed)
    side = size + 2 * margin
    x_plus = torch.randn(n, 3, side, side, generator=g, dtype=torch.float64) + offset
    return x_plus[..., margin : margin + size, margin : margin + size], x_plus


def conv_net(padding, mode="zeros", seed=0):
    """conv3 - ReLU - conv3 stride 2 - ReLU - conv3 (float64, eval mode)."""
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=padding, padding_mode=mode),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=padding, padding_mode=mode),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=padding, padding_mode=mode),
    )
    return net.double().eval()


LAYERS = ["1", "3", "4"]


def measure(net, n=64, seed=0, batch=16, scenes_fn=scenes, layers=LAYERS, margin=None):
    """PPP stats per layer with the margin measured from the net (the pipeline's path)."""
    geo = layer_geometry(net, layers)
    if margin is None:
        margin = context_margin(geo, SIZE, feature_sizes(net, layers, SIZE))
    x, x_plus = scenes_fn(n, SIZE, margin, seed)
    batches = [(x[i : i + batch], x_plus[i : i + batch]) for i in range(0, n, batch)]
    strides = {k: g.stride for k, g in geo.items()}
    return accumulate_ppp(net, batches, layers, margin, strides), strides


# ---------------------------------------------------------------- exact values
def test_pattern_of_a_ones_kernel_on_constant_images_is_the_missing_context():
    """3x3 all-ones conv, zero padding, images of constant value c: the border-free output
    is 9c everywhere; with zero padding a corner sees 4 real pixels (Delta = -5c), an edge
    6 (Delta = -3c), the interior 9 (Delta = 0). Catches a sign error and a misaligned crop."""
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False).double()
    nn.init.ones_(conv.weight)
    values = torch.tensor([0.5, 1.0, 2.5, -0.5], dtype=torch.float64)
    x_plus = values.view(-1, 1, 1, 1).expand(-1, 1, 10, 10).contiguous()
    x = x_plus[..., 1:9, 1:9]
    stats = accumulate_ppp(conv.eval(), [(x, x_plus)], [""], margin=1, strides={"": 1})[""]
    c = float(values.mean())
    ppp = stats.pattern()[0]
    expected = torch.zeros(8, 8, dtype=torch.float64)
    expected[0, :] = expected[-1, :] = expected[:, 0] = expected[:, -1] = -3 * c
    expected[0, 0] = expected[0, -1] = expected[-1, 0] = expected[-1, -1] = -5 * c
    assert torch.allclose(ppp, expected, atol=1e-12)
    # reach: only the outer ring is non-zero -> 1 position * stride 1
    assert reach_px(stats.heat_map(), stride=1) == 1.0


def test_scalar_metrics_match_a_direct_computation():
    g = torch.Generator().manual_seed(1)
    f_ref = torch.randn(40, 5, 6, 6, generator=g, dtype=torch.float64)
    pattern = torch.randn(5, 6, 6, generator=g, dtype=torch.float64)
    f = f_ref + pattern + 0.5 * torch.randn(40, 5, 6, 6, generator=g, dtype=torch.float64)
    stats = PatternStats()
    for i in range(0, 40, 7):  # uneven batches: streaming must equal one pass
        stats.update(f[i : i + 7], f_ref[i : i + 7])
    delta = (f - f_ref).numpy()
    ppp = delta.mean(0)
    var = f_ref.numpy().var(0)
    assert stats.n == 40
    assert np.allclose(stats.pattern().numpy(), ppp)
    assert snr_db(stats) == pytest.approx(10 * np.log10((ppp**2).mean() / var.mean()))
    assert consistency(stats) == pytest.approx((ppp**2).mean() / (delta**2).mean())
    assert np.allclose(stats.heat_map().numpy(), np.sqrt((ppp**2).mean(0)))


def test_reach_is_the_band_of_rings_above_ten_percent_of_the_peak():
    heat = torch.zeros(8, 8)
    heat[ring_index(8, 8) == 0] = 1.0
    heat[ring_index(8, 8) == 1] = 0.2
    heat[ring_index(8, 8) == 2] = 0.09  # below 10 %: not part of the reach
    assert reach_px(heat, stride=4) == 8.0
    assert reach_px(torch.ones(8, 8), stride=4) == 16.0  # fills the map: reaches the centre
    assert reach_px(torch.zeros(8, 8), stride=4) == 0.0


# ---------------------------------------------------------------- property (a)
def test_ppp_is_zero_for_a_net_without_padding():
    """Property (a). A net of `valid` convs never sees padding: each unit of f(x) reads the
    same real pixels as the aligned unit of f(x_plus), so Delta is 0 for every image (the
    same-size output of a padded net does not exist here; the crop of f(x_plus) is simply
    taken at the size of f(x), by the same code path the padded nets use). A valid net needs
    no margin at all; one is given anyway, or x_plus would be x and the test trivial."""
    stats, strides = measure(conv_net(padding=0), margin=8)
    for name, st in stats.items():
        assert st.pattern().abs().max() < 1e-12, name
        assert st.disturbance_energy() < 1e-24, name
        assert snr_db(st) < -200  # float rounding only (exactly -inf when all bits agree)
        assert st.feature_variance() > 1e-3  # the features themselves are not trivial


def test_ppp_is_zero_for_circular_padding_on_periodic_scenes():
    """Property (a) for a same-size net: on a scene that repeats with the crop's period,
    circular padding pads with exactly the real context, so the net is border-free."""

    def periodic(n, size, margin, seed):
        x, _ = scenes(n, size, 0, seed)
        reps = 2 * math.ceil(margin / size) + 1
        tiled = x.repeat(1, 1, reps, reps)
        start = (reps // 2) * size - margin
        return x, tiled[..., start : start + size + 2 * margin, start : start + size + 2 * margin]

    stats, _ = measure(conv_net(padding=1, mode="circular"), scenes_fn=periodic)
    for name, st in stats.items():
        assert st.disturbance_energy() < 1e-24, name


def test_zero_ppp_breaks_when_the_crop_is_shifted_by_one_position():
    net = conv_net(padding=0)
    margin = 8
    good, strides = measure(net, margin=margin)
    x, x_plus = scenes(64, SIZE, margin)
    s = strides["4"]
    # claiming one stride more of margin reads the reference one feature position off
    bad = accumulate_ppp(net, [(x, x_plus)], ["4"], margin + s, strides)["4"]
    assert good["4"].disturbance_energy() < 1e-24
    assert bad.disturbance_energy() > 0.1 * bad.feature_variance()


# ---------------------------------------------------------------- zero padding
def test_zero_padding_gives_a_pattern_concentrated_at_the_border():
    stats, strides = measure(conv_net(padding=1), n=128)
    for name in ("3", "4"):
        st = stats[name]
        heat = st.heat_map()
        rings = ring_index(*heat.shape)
        assert heat[rings == 0].mean() > 5 * heat[rings >= 2].mean(), name
        m = layer_metrics(st, strides[name])
        assert m["ppp_snr_db"] > -20
        assert 0.1 < m["ppp_consistency"] <= 1.0  # far above the 1/n noise floor
        assert m["ppp_reach_px"] < SIZE / 2  # the pattern does not reach the centre


def test_circular_padding_on_natural_scenes_is_far_less_consistent_than_zeros():
    zeros, _ = measure(conv_net(padding=1), n=128)
    circ, _ = measure(conv_net(padding=1, mode="circular"), n=128)
    assert consistency(circ["4"]) < 0.1 * consistency(zeros["4"])
    assert consistency(circ["4"]) < 3 / 128  # about the 1/n floor of pure image noise


# ---------------------------------------------------------------- property (b)
def add_to_output(module, amplitude, position_map):
    """Forward hook: add ``amplitude * position_map`` to the module's output on the crop
    (maps of the crop's size only, so f(x) changes and f(x_plus) does not)."""

    def hook(_m, _inp, out):
        if out.shape[-2:] == position_map.shape[-2:]:
            return out + amplitude * position_map
        return out

    return module.register_forward_hook(hook)


def test_snr_grows_monotonically_with_the_amplitude_of_an_added_position_map():
    """Property (b). The added map is oriented along the net's own pattern (a positive inner
    product), so mean((PPP0 + a P)^2) grows strictly with a >= 0 and so must the SNR."""
    net = conv_net(padding=1, mode="circular")
    base, _ = measure(net, layers=["4"])
    ppp0 = base["4"].pattern()
    h = ppp0.shape[-1]
    ramp = torch.linspace(-1, 1, h, dtype=torch.float64)
    position_map = (ramp.view(1, -1, 1) + ramp.view(1, 1, -1)).expand_as(ppp0).contiguous()
    if (position_map * ppp0).sum() < 0:
        position_map = -position_map
    snrs, cons = [], []
    for amplitude in (0.0, 0.05, 0.2, 0.8, 3.2):
        handle = add_to_output(net[4], amplitude, position_map)
        try:
            stats, _ = measure(net, layers=["4"])
        finally:
            handle.remove()
        snrs.append(snr_db(stats["4"]))
        cons.append(consistency(stats["4"]))
    assert all(b > a for a, b in zip(snrs, snrs[1:])), snrs
    assert cons[-1] > 0.9  # a strong fixed map dominates: the disturbance is the mask


# ---------------------------------------------------------------- property (c)
def test_metrics_do_not_change_when_a_layer_is_scaled():
    """Property (c). Scaling a layer's output by a > 0 scales f and f* alike."""
    net = conv_net(padding=1)
    before, strides = measure(net, layers=["4"])
    handle = net[4].register_forward_hook(lambda _m, _i, out: 7.5 * out)
    try:
        after, _ = measure(net, layers=["4"])
    finally:
        handle.remove()
    m0 = layer_metrics(before["4"], strides["4"])
    m1 = layer_metrics(after["4"], strides["4"])
    assert m0 == pytest.approx(m1, rel=1e-9)
    assert after["4"].pattern_energy() == pytest.approx(7.5**2 * before["4"].pattern_energy())


# ---------------------------------------------------------------- with the project's models
def test_project_vgg_with_valid_padding_has_zero_ppp_and_zeros_padding_does_not():
    """The same property (a) through padpos.models / padpos.padding: the `valid` scheme
    keeps every unit off the padding, `zeros` does not (margin 8 = stride of stage 4)."""
    from padpos.models import build_model, feature_layers

    torch.manual_seed(0)
    layers = feature_layers("small_vgg")[:4]
    x, x_plus = scenes(8, 48, 8)
    strides = {name: 2**i for i, name in enumerate(layers)}
    energies = {}
    for scheme in ("valid", "zeros"):
        net = build_model("small_vgg", scheme, num_classes=3, width=4).double().eval()
        stats = accumulate_ppp(net, [(x, x_plus)], layers, 8, strides)
        energies[scheme] = [st.disturbance_energy() / st.feature_variance() for st in stats.values()]
    assert max(energies["valid"]) < 1e-20
    assert min(energies["zeros"]) > 1e-3


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    """A tiny synthetic data set and an epoch-0 small_resnet snapshot (BN never estimated)."""
    from tiny import synthetic_data
    from padpos.io import save_torch
    from padpos.models import build_model, checkpoint_dict

    root = tmp_path_factory.mktemp("ppp")
    synthetic_data(root / "data", num_train=32, num_test=24, seed=5)
    torch.manual_seed(0)
    model = build_model("small_resnet", "zeros", num_classes=10, width=4)
    meta = {"arch": "small_resnet", "padding": "zeros", "num_classes": 10, "width": 4,
            "seed": 3, "epoch": 0, "image_size": 16, "bn_estimated": False}
    save_torch(root / "snapshot_e0.pt", checkpoint_dict(model, meta))
    return root


@pytest.fixture(scope="module")
def ppp_outputs(tiny_study):
    """The ppp command run once on the tiny study: (csv, npz)."""
    from padpos.cli import main

    out = tiny_study / "out"
    spec = '{"study": "t", "num_images": 20, "bn_images": 32, "batch_size": 8}'
    main(["ppp", "--checkpoint", str(tiny_study / "snapshot_e0.pt"),
          "--data", str(tiny_study / "data" / "manifest.json"), "--spec", spec,
          "--output-csv", str(out / "e0.csv"), "--output-npz", str(out / "e0.npz")])
    return out / "e0.csv", out / "e0.npz"


def test_ppp_command_writes_the_run_table_and_heat_maps(ppp_outputs):
    csv, npz = ppp_outputs
    import pandas as pd

    df = pd.read_csv(csv)
    assert list(df.columns) == [
        "study", "arch", "padding", "seed", "epoch", "layer", "metric", "value", "failed", "converged"
    ]  # fmt: skip
    assert not df["failed"].any()
    assert set(df["layer"]) == {"layer1", "layer2", "layer3", "layer4"}
    assert set(df["metric"]) == {"ppp_snr_db", "ppp_consistency", "ppp_reach_px"}
    assert (df["seed"] == 3).all() and (df["epoch"] == 0).all()
    assert np.isfinite(df["value"]).all()
    with np.load(npz) as z:
        assert list(z["layers"]) == ["layer1", "layer2", "layer3", "layer4"]
        # 16 px crops: maps of 16, 8, 4, 2 positions; one margin of 24 px for all layers
        assert [z[f"heat_{i}"].shape for i in range(4)] == [(16, 16), (8, 8), (4, 4), (2, 2)]
        assert [int(z[f"stride_{i}"]) for i in range(4)] == [1, 2, 4, 8]
        assert int(z["margin_px"]) == 24 and int(z["num_images"]) == 20
    prov = json.loads(csv.with_suffix(".provenance.json").read_text())
    assert prov["spec"]["num_images"] == 20 and prov["device"] == "cpu"
    assert prov["margin_px"] == 24 and "torch" in prov["versions"] and prov["wall_time_s"] > 0


def test_one_ppp_job_covers_several_checkpoints_of_a_run(tiny_study, ppp_outputs, tmp_path):
    """One process for a run's snapshot epochs: each checkpoint's files equal a job of its own."""
    import shutil

    import pandas as pd

    from padpos.cli import main

    second = tmp_path / "snapshot_e0_copy.pt"
    shutil.copyfile(tiny_study / "snapshot_e0.pt", second)
    spec = '{"study": "t", "num_images": 20, "bn_images": 32, "batch_size": 8}'
    outs = [tmp_path / f"e{i}" for i in (0, 1)]
    main(["ppp", "--checkpoint", str(tiny_study / "snapshot_e0.pt"), str(second),
          "--data", str(tiny_study / "data" / "manifest.json"), "--spec", spec,
          "--output-csv", *[str(o.with_suffix(".csv")) for o in outs],
          "--output-npz", *[str(o.with_suffix(".npz")) for o in outs]])  # fmt: skip
    single = pd.read_csv(ppp_outputs[0])
    for out in outs:
        pd.testing.assert_frame_equal(pd.read_csv(out.with_suffix(".csv")), single)
        with np.load(out.with_suffix(".npz")) as z, np.load(ppp_outputs[1]) as ref:
            assert all(np.array_equal(z[k], ref[k]) for k in ref.files if k.startswith("heat_"))
        assert out.with_suffix(".provenance.json").is_file()
    with pytest.raises(SystemExit, match="2 --checkpoint need as many"):
        main(["ppp", "--checkpoint", str(second), str(second), "--data", "x", "--spec", spec,
              "--output-csv", "a.csv", "--output-npz", "a.npz"])  # fmt: skip


def test_every_epoch_of_a_failed_run_is_flagged_and_counted_in_n_failed(tiny_study, tmp_path):
    """Training stores ``failed`` in the final model's meta; the PPP job of that run flags
    the rows of every checkpoint (snapshots carry no flag of their own), and the table
    counts the run in n_failed instead of averaging it in."""
    from padpos.cli import main
    from padpos.io import read_runs
    from padpos.stages import build_table

    final = torch.load(tiny_study / "snapshot_e0.pt", weights_only=False)
    final["meta"] = {**final["meta"], "epoch": 2, "failed": True}
    torch.save(final, tmp_path / "model.pt")
    spec = '{"study": "t", "num_images": 4, "bn_images": 8, "batch_size": 4}'
    outs = [tmp_path / "e0", tmp_path / "e2"]
    main(["ppp", "--checkpoint", str(tiny_study / "snapshot_e0.pt"), str(tmp_path / "model.pt"),
          "--data", str(tiny_study / "data" / "manifest.json"), "--spec", spec,
          "--output-csv", *[str(o.with_suffix(".csv")) for o in outs],
          "--output-npz", *[str(o.with_suffix(".npz")) for o in outs]])  # fmt: skip
    runs = read_runs([o.with_suffix(".csv") for o in outs])
    assert runs["failed"].all()
    table = build_table("ppp_formation", runs)
    assert (table["n"] == 0).all() and (table["n_failed"] == 1).all()


def test_an_epoch0_snapshot_gets_its_batchnorm_statistics_estimated(tiny_study):
    from padpos.probes.pattern import prepare_model

    manifest = tiny_study / "data" / "manifest.json"
    model, meta = prepare_model(tiny_study / "snapshot_e0.pt", manifest, bn_images=32, batch_size=8)
    assert not model.training
    assert model.bn1.running_mean.abs().sum() > 0  # no longer the initial zeros


def test_ppp_command_asks_for_cuda_and_records_the_cpu_without_one(tiny_study, tmp_path, monkeypatch):
    from padpos.cli import main

    asked = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: asked.append(True) or False)
    spec = '{"study": "t", "num_images": 4, "bn_images": 8, "batch_size": 4}'
    main(["ppp", "--checkpoint", str(tiny_study / "snapshot_e0.pt"),
          "--data", str(tiny_study / "data" / "manifest.json"), "--spec", spec,
          "--output-csv", str(tmp_path / "e0.csv"), "--output-npz", str(tmp_path / "e0.npz")])
    assert asked
    with np.load(tmp_path / "e0.npz") as z:
        assert str(z["device"]) == "cpu"


# ---------------------------------------------------------------- tables
def run_rows(archs=("small_resnet",)):
    import pandas as pd

    rows = []
    for arch in archs:
        for padding in ("zeros", "circular"):
            for seed in (0, 1):
                for epoch in (0, 2):
                    for layer in ("layer1", "layer2"):
                        for k, metric in enumerate(("ppp_reach_px", "ppp_snr_db", "ppp_consistency")):
                            value = 10 * epoch + seed + k + (padding == "zeros")
                            rows.append(dict(study="t", arch=arch, padding=padding, seed=seed,
                                             epoch=epoch, layer=layer, metric=metric, value=value))
    return pd.DataFrame(rows)


def test_final_table_keeps_the_last_epoch_and_aggregates_over_seeds():
    from padpos.stages import build_table

    table = build_table("ppp", run_rows())
    assert list(table.columns) == ["padding", "layer", "metric", "mean", "std", "n", "ci95", "n_failed"]
    assert list(table["padding"].unique()) == ["zeros", "circular"]  # config order kept
    assert list(table["metric"][:3]) == ["ppp_snr_db", "ppp_consistency", "ppp_reach_px"]
    row = table[(table.padding == "zeros") & (table.layer == "layer1") & (table.metric == "ppp_snr_db")]
    # epoch 2 only: values 20 + seed + 1 + 1 for seeds 0, 1
    assert row["mean"].item() == 22.5 and row["n"].item() == 2
    assert row["std"].item() == pytest.approx(np.std([22, 23], ddof=1))


def test_formation_table_has_every_epoch_and_several_archs_get_an_arch_column():
    from padpos.stages import build_table

    table = build_table("ppp_formation", run_rows(("small_resnet", "small_vgg")))
    assert list(table.columns) == ["arch", "padding", "epoch", "layer", "metric", "mean", "std", "n", "ci95",
                                   "n_failed"]
    assert sorted(table["epoch"].unique()) == [0, 2]
    assert len(table) == 2 * 2 * 2 * 2 * 3


# ---------------------------------------------------------------- figures
def test_figures_are_drawn_from_the_tables_and_maps(ppp_outputs, tmp_path):
    from padpos.cli import main
    from padpos.io import write_csv
    from padpos.stages import build_table

    maps = ppp_outputs[1]
    write_csv(tmp_path / "final.csv", build_table("ppp", run_rows()))
    write_csv(tmp_path / "formation.csv", build_table("ppp_formation", run_rows()))
    main(["plot-ppp-maps", "--maps", str(maps), "--output", str(tmp_path / "maps.png")])
    main(["plot-ppp-by-padding", "--table", str(tmp_path / "final.csv"),
          "--output", str(tmp_path / "by.png")])
    main(["plot-ppp-formation", "--table", str(tmp_path / "formation.csv"), "--title", "t",
          "--output", str(tmp_path / "formation.png")])
    for name in ("maps.png", "by.png", "formation.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def test_a_trained_checkpoint_gets_its_statistics_estimated_the_same_way(tiny_study, tmp_path):
    """One method at every epoch: a checkpoint that records estimated statistics (a trained
    epoch) has them estimated afresh on the same images, as epoch 0 has."""
    from padpos.probes.pattern import prepare_model

    manifest = tiny_study / "data" / "manifest.json"
    ckpt = torch.load(tiny_study / "snapshot_e0.pt", weights_only=False)
    ckpt["meta"] = {**ckpt["meta"], "epoch": 2, "bn_estimated": True}
    ckpt["state_dict"] = {k: (v + 3.0 if k.endswith("running_mean") else v) for k, v in ckpt["state_dict"].items()}
    torch.save(ckpt, tmp_path / "trained.pt")
    model, _ = prepare_model(tmp_path / "trained.pt", manifest, bn_images=32, batch_size=8)
    reference, _ = prepare_model(tiny_study / "snapshot_e0.pt", manifest, bn_images=32, batch_size=8)
    # the stored (shifted) running means are replaced by the same estimate as epoch 0's
    assert torch.equal(model.bn1.running_mean, reference.bn1.running_mean)
