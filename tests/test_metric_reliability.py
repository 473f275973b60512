"""Metric reliability (docs/protocols.md section 6): position-biased images with true
context, the position-free control, the dose-response calibration, tables."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from padpos.data import photos
from padpos.probes import location
from padpos.stages.reliability import controls as rel
from padpos.stages.reliability import images as imgs
from padpos.stages.reliability import networks as nets
from padpos.stages.reliability import runs as runs_mod
from padpos.stages.reliability import tables as rel_tables
from padpos.stages import build_table

MEAN, STD = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]
LAYERS = list(nets.ProbeNet.LAYERS)
SPEC = {"posenet": {"epochs": 10, "batch_size": 16}}


@pytest.fixture(scope="module")
def photo_set():
    torch.manual_seed(0)
    return imgs.make_image_set("photos", 32, 32, 32, 16, MEAN, STD, seed=0)


@pytest.fixture(scope="module")
def biased_set():
    return imgs.make_image_set("biased", 32, 32, 32, 16, MEAN, STD, seed=0)


# ---------------------------------------------------------------- images
def test_photo_crops_are_the_centres_of_their_context_and_seeded():
    x, xp = photos.photo_crops(5, 16, 8, seed=3, split="train", photos=["astronaut", "rocket"])
    assert x.shape == (5, 3, 16, 16) and xp.shape == (5, 3, 32, 32)
    assert torch.equal(xp[..., 8:24, 8:24], x)
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    again, _ = photos.photo_crops(5, 16, 8, seed=3, split="train", photos=["astronaut", "rocket"])
    assert torch.equal(again, x)
    other, _ = photos.photo_crops(5, 16, 8, seed=3, split="test", photos=["astronaut", "rocket"])
    assert not torch.equal(other, x)  # train and test crops are different draws


def test_every_listed_photo_loads_as_rgb():
    for name in photos.PHOTOS:
        img = photos.load_photo(name)
        assert img.ndim == 3 and img.shape[0] == 3 and min(img.shape[1:]) >= 256, name
    with pytest.raises(ValueError, match="unknown photograph 'lena'"):
        photos.load_photo("lena")


def test_biased_scenes_have_a_bright_smooth_top_and_exact_context():
    x, xp = photos.biased_scenes(16, 32, 8, seed=1)
    assert torch.equal(xp[..., 8:40, 8:40], x)
    assert photos.vertical_bias(x) > 0.2
    top, bottom = x[..., :8, :], x[..., -8:, :]
    assert float(bottom.std()) > 2 * float(top.std())  # textured bottom


def test_image_set_rejects_crops_that_are_not_centred():
    x, xp = photos.biased_scenes(2, 8, 4)
    with pytest.raises(ValueError, match="not the centres"):
        imgs.ImageSet("bad", x, x, torch.roll(xp, 1, -1), 4)
    s = imgs.ImageSet("ok", x, x, xp, 4)
    with pytest.raises(ValueError, match="reliability.context_px"):
        s.context(8)


# ---------------------------------------------------------------- the control
def test_position_free_control_has_no_ppp_but_a_padded_net_has(photo_set):
    net = nets.probe_net(0, 4, photo_set)
    ppp = rel.ppp_of(net, LAYERS, photo_set)
    for layer in LAYERS:
        snr = ppp[layer]["ppp_snr_db"]
        assert snr == -math.inf or snr < -100, (layer, snr)  # 0 to float tolerance
        assert not rel.ppp_detects(snr, ppp[layer]["ppp_consistency"], ppp["_n"])
    # the same net WITH zero padding sees a border: the test can fail
    torch.manual_seed(0)
    padded = nets.ProbeNet(4, padding=1)
    from padpos.runtime import recalibrate_batchnorm

    padded = recalibrate_batchnorm(padded, photo_set.train)
    pp = rel.ppp_of(padded, LAYERS, photo_set)
    assert pp[LAYERS[-1]]["ppp_snr_db"] > -30
    assert rel.ppp_detects(pp[LAYERS[-1]]["ppp_snr_db"], pp[LAYERS[-1]]["ppp_consistency"], pp["_n"])


def test_posenet_reads_position_from_biased_content_on_the_control(biased_set):
    """The false positive docs/protocols.md section 6 predicts: no padding, yet V is read."""
    net = nets.probe_net(0, 4, biased_set)
    spc = rel.posenet_of(net, LAYERS, biased_set, SPEC["posenet"], seed=0)
    assert spc["V"][0] > 0.5 and spc["V"][1] < rel.ALPHA


# ---------------------------------------------------------------- calibration
def test_injection_unit_dose_one_is_0_db_at_the_injected_layer(photo_set):
    net = nets.probe_net(0, 4, photo_set)
    unit, size = nets.feature_unit(net, "block1", photo_set.test)
    nets.inject_position(net, "block1", 1.0, unit, size)
    assert rel.ppp_of(net, LAYERS, photo_set)["block1"]["ppp_snr_db"] == pytest.approx(0.0, abs=0.2)
    nets.set_dose(net, 0.1)
    assert rel.ppp_of(net, LAYERS, photo_set)["block1"]["ppp_snr_db"] == pytest.approx(-20.0, abs=0.2)


def test_dose_zero_is_exactly_the_control(photo_set):
    control = rel.measure_metrics(nets.probe_net(1, 4, photo_set), LAYERS, photo_set, SPEC, seed=1)
    net = nets.probe_net(1, 4, photo_set)
    unit, size = nets.feature_unit(net, "block1", photo_set.test)
    nets.inject_position(net, "block1", 0.0, unit, size)
    dosed = rel.measure_metrics(net, LAYERS, photo_set, SPEC, seed=1)
    assert [(r["metric"], r["value"]) for r in dosed] == [(r["metric"], r["value"]) for r in control]
    nets.set_dose(net, 0.5)
    changed = rel.measure_metrics(net, LAYERS, photo_set, SPEC, seed=1)
    assert [r["value"] for r in changed] != [r["value"] for r in control]


def test_metrics_rise_with_the_dose_on_a_toy_case(photo_set):
    net = nets.probe_net(0, 4, photo_set)
    unit, size = nets.feature_unit(net, "block1", photo_set.test)
    nets.inject_position(net, "block1", 0.0, unit, size)
    values = {}
    for dose in (0.0, 0.1, 0.3, 1.0, 3.0):
        nets.set_dose(net, dose)
        values[dose] = {r["metric"]: r["value"] for r in rel.measure_metrics(net, LAYERS, photo_set, SPEC, 0)}
    snr = [values[d]["ppp_snr_db"] for d in values]
    assert snr[0] == -math.inf and all(b > a for a, b in zip(snr, snr[1:]))  # strictly monotone
    assert values[3.0]["posenet_spc_H"] > values[0.0]["posenet_spc_H"] + 0.5
    assert values[3.0]["location_accuracy"] >= 90.0


def test_coordconv_has_position_information_without_padding(photo_set):
    net = nets.probe_net(0, 4, photo_set, coords=True)
    ppp = rel.ppp_of(net, LAYERS, photo_set)
    assert ppp[LAYERS[-1]]["ppp_snr_db"] > rel.PPP_MIN_SNR_DB
    assert rel.posenet_of(net, LAYERS, photo_set, SPEC["posenet"], 0)["V"][0] > 0.5


def test_corner_canvases_put_each_image_in_both_corners():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4) + 1
    canvas, labels = location.corner_canvases(x, offset=5)
    assert canvas.shape == (4, 3, 9, 9) and labels.tolist() == [0, 0, 1, 1]
    assert torch.equal(canvas[0, :, :4, :4], x[0]) and torch.equal(canvas[2, :, 5:, 5:], x[0])
    assert float(canvas[0, :, 4:, :].abs().sum()) == 0.0  # the rest is the canvas (0)


def test_location_test_false_positive_comes_from_the_canvas_border(photo_set):
    """With both placements framed by canvas (no image touches the border) and on the
    same stride grid, the padding-free control's pooled features are the same for
    both classes; in the corners (as [KAY20]) they are not: the image's edge against
    the canvas shows on different sides."""
    net = nets.probe_net(0, 4, photo_set)
    offset = location.corner_offset(32)
    assert offset % location.CORNER_STEP == 0 and offset >= 64 / 56 * 32
    framed, _ = location.corner_canvases(photo_set.test[:8], frame=16)
    f = location.pooled_features(net, ["block4"], framed)["block4"]
    assert torch.allclose(f[:8], f[8:], atol=1e-5)
    corners, _ = location.corner_canvases(photo_set.test[:8])
    g = location.pooled_features(net, ["block4"], corners)["block4"]
    assert not torch.allclose(g[:8], g[8:], atol=1e-3)


def test_position_map_decays_from_each_side():
    d = nets.side_distance_maps(3, 4)
    assert d[:, 0, 0].tolist() == [0, 3, 0, 2] and d[:, 2, 3].tolist() == [3, 0, 2, 0]


# ---------------------------------------------------------------- tables
def _fake_runs():
    rows = []
    for seed in (0, 1):
        for dose, v in zip((0.0, 1.0, 2.0), (1.0, 2.0, 3.0 + seed)):
            for m in rel.METRICS:
                rows.append(dict(family="calibration", network="calibration", images="photos",
                                 truth=f"dose {dose:g}", source="boundary, content", seed=seed, dose=dose,
                                 metric=m, value=v if m != "location_accuracy" else 60.0 - dose,
                                 detects=dose > 0, by_construction=""))
        for m in rel.METRICS:
            rows.append(dict(family="control", network="position_free_control", images="photos",
                             truth="absent", source="boundary, content", seed=seed, dose=0.0, metric=m,
                             value=1.0 + 0.1 * seed, detects=m.startswith("posenet") and seed == 0,
                             by_construction="by definition" if m.startswith("ppp") else ""))
            rows.append(dict(family="backbone", network="zeros_trained", images="photos",
                             truth="present", source="padding, boundary, content", seed=seed,
                             dose=float("nan"), metric=m, value=5.0 + seed if m != "location_accuracy" else 1.1,
                             detects=True, by_construction=""))
    return pd.DataFrame(rows)


def test_reliability_and_calibration_tables():
    runs = _fake_runs()
    table = build_table("metric_reliability", runs)
    assert list(table.columns) == ["network", "images", "truth", "source", "metric", "by_construction",
                                   "value", "std", "n", "ci95", "n_failed"]
    control_ppp = table[(table["network"] == "position_free_control") & (table["metric"] == "ppp_snr_db")]
    assert control_ppp["by_construction"].item() == "by definition"
    assert table["network"].iloc[0] == "position_free_control"
    assert "calibration" not in set(table["network"])
    zeros = table[(table["network"] == "zeros_trained") & (table["metric"] == "ppp_snr_db")].iloc[0]
    assert zeros["value"] == 5.5 and zeros["n"] == 2 and zeros["std"] == pytest.approx(np.sqrt(0.5))
    cal = build_table("metric_calibration", runs)
    assert list(cal.columns)[:4] == ["metric", "dose", "value", "seed"] and len(cal) == 2 * 3 * len(rel.METRICS)
    assert (cal["n"] == 1).all() and cal["std"].isna().all()  # one run per row: no spread


def test_summary_spearman_spread_and_false_positive_rate():
    s = build_table("metric_reliability_summary", _fake_runs()).set_index("metric")
    assert s.loc["ppp_snr_db", "n"] == 2 and s.loc["ppp_snr_db", "spearman_std"] == 0.0
    assert s.loc["ppp_snr_db", "spearman_mean"] == 1.0
    assert s.loc["location_accuracy", "spearman_min"] == -1.0
    assert s.loc["ppp_snr_db", "null_value"] == pytest.approx(1.0)
    assert s.loc["ppp_snr_db", "seed_std"] == pytest.approx(np.sqrt(0.5) / 2)  # dose 1: 0, dose 2: 0.71
    assert s.loc["posenet_spc_V", "false_positive_rate"] == 0.5
    assert s.loc["ppp_snr_db", "false_positive_rate"] == 0.0
    assert s.loc["ppp_snr_db", "true_positive_rate"] == 1.0 and s.loc["ppp_snr_db", "n_positive"] == 2


def test_calibrated_detection_thresholds_each_metric_at_its_own_null():
    """The same nominal false-positive rate for every metric: a value is detected above the
    upper 95 % prediction bound of the metric's own null (the control's seeds)."""
    from scipy import stats

    null = np.array([1.0, 1.2, 0.9])
    bound = null.mean() + stats.t.ppf(0.95, 2) * null.std(ddof=1) * np.sqrt(1 + 1 / 3)
    assert rel_tables.calibrated_threshold(null) == pytest.approx(bound)
    assert rel_tables.calibrated_threshold(np.array([-np.inf, -np.inf])) == -np.inf  # PPP's exact null
    assert np.isnan(rel_tables.calibrated_threshold(np.array([1.0])))
    s = build_table("metric_reliability_summary", _fake_runs()).set_index("metric")
    # the backbones (5, 6) clear the PPP null (1.0, 1.1) but their location value (1.1) does not
    assert s.loc["ppp_snr_db", "calibrated_tpr"] == 1.0 and s.loc["ppp_snr_db", "n_positive_detected"] == 2
    assert s.loc["location_accuracy", "calibrated_tpr"] == 0.0 and s.loc["ppp_snr_db", "n_null"] == 2


def test_tables_name_missing_columns():
    with pytest.raises(ValueError, match="detects"):
        build_table("metric_reliability", _fake_runs().drop(columns="detects"))


# ---------------------------------------------------------------- schema, commands, figures
def test_schema_enums_equal_the_names(repo):
    import yaml

    from padpos import names

    props = yaml.safe_load((repo / "workflow/schemas/config.schema.yaml").read_text())["properties"]
    rel_props = props["reliability"]["properties"]
    assert tuple(rel_props["image_sets"]["items"]["enum"]) == names.RELIABILITY_IMAGE_SETS
    assert tuple(rel_props["photos"]["items"]["enum"]) == names.PHOTOS
    assert tuple(rel_props["inject_layer"]["enum"]) == nets.ProbeNet.LAYERS


def test_spec_defaults_and_errors():
    spec = runs_mod.spec_with_defaults({"seeds": [0, 1]})
    assert spec["doses"][0] == 0.0 and spec["posenet"]["epochs"] == 15
    with pytest.raises(ValueError, match="unknown key"):
        runs_mod.spec_with_defaults({"dosez": [0, 1]})
    with pytest.raises(ValueError, match="must include 0"):
        runs_mod.spec_with_defaults({"doses": [0.1, 1.0]})


@pytest.fixture(scope="module")
def reliability_outputs(tmp_path_factory):
    """Both reliability commands on a tiny synthetic study (16 px) with one epoch-0
    small_resnet snapshot and one 'trained' copy of it: (reference.csv, backbones.csv)."""
    import json

    from padpos.cli import main
    from padpos.data import prepare_data
    from padpos.io import save_torch
    from padpos.models import build_model, checkpoint_dict

    root = tmp_path_factory.mktemp("reliability")
    prepare_data({"dataset": "synthetic", "path": None, "download_dir": "unused", "url": None,
                  "image_size": 16, "num_train": 32, "num_test": 16, "seed": 5}, root / "data")  # fmt: skip
    torch.manual_seed(0)
    model = build_model("small_resnet", "zeros", num_classes=10, width=4)
    meta = {"arch": "small_resnet", "padding": "zeros", "num_classes": 10, "width": 4,
            "seed": 3, "epoch": 0, "image_size": 16, "bn_estimated": False}  # fmt: skip
    save_torch(root / "snapshot_e0.pt", checkpoint_dict(model, meta))
    save_torch(root / "model.pt", checkpoint_dict(model, {**meta, "epoch": 1, "bn_estimated": False}))
    spec = json.dumps({"study": "t", "seeds": [0, 1], "doses": [0.0, 1.0], "width": 2, "num_train": 8,
                       "num_test": 8, "bn_images": 16, "posenet": {"epochs": 1, "batch_size": 4}})  # fmt: skip
    data = str(root / "data" / "manifest.json")
    main(["reliability-reference", "--spec", spec, "--data", data, "--output", str(root / "reference.csv")])
    main(["reliability-backbones", "--checkpoints", str(root / "snapshot_e0.pt"), str(root / "model.pt"),
          "--spec", spec, "--data", data, "--output", str(root / "backbones.csv")])  # fmt: skip
    return root / "reference.csv", root / "backbones.csv"


def test_reliability_commands_write_runs_with_provenance(reliability_outputs):
    import json

    reference, backbones = (pd.read_csv(p) for p in reliability_outputs)
    assert list(reference.columns) == list(runs_mod.RUN_COLUMNS) == list(backbones.columns)
    assert set(reference["family"]) == {"control", "calibration", "coordconv"}
    assert set(reference.loc[reference["family"] == "control", "images"]) == {"photos", "biased"}
    # dose 0 of the calibration is the control on the same images, seed by seed
    ctrl = reference[(reference["family"] == "control") & (reference["images"] == "photos")]
    null = reference[(reference["family"] == "calibration") & (reference["dose"] == 0)]
    assert ctrl["value"].tolist() == null["value"].tolist()
    assert (ctrl.loc[ctrl["metric"] == "ppp_snr_db", "value"] < -100).all()
    assert set(backbones["network"]) == {"zeros_init", "zeros_trained"}
    assert (backbones["study"] == "t").all() and (backbones["seed"] == 3).all()
    for path in reliability_outputs:
        prov = json.loads(path.with_suffix(".provenance.json").read_text())
        assert prov["device"] == "cpu" and prov["cpu_time_s"] > 0 and prov["spec"]["num_test"] == 8


def test_reliability_tables_and_figures_from_the_commands(reliability_outputs, tmp_path):
    from padpos.cli import main

    runs = [str(p) for p in reliability_outputs]
    for name in ("metric_reliability", "metric_calibration", "metric_reliability_summary"):
        main(["table", name, "--runs", *runs, "--output", str(tmp_path / f"{name}.csv")])
    table = pd.read_csv(tmp_path / "metric_reliability.csv")
    assert table["network"].tolist()[0] == "position_free_control"
    assert {"coordconv", "zeros_init", "zeros_trained"} <= set(table["network"])
    main(["plot-metric-reliability", "--table", str(tmp_path / "metric_reliability.csv"),
          "--output", str(tmp_path / "r.png")])  # fmt: skip
    main(["plot-metric-calibration", "--table", str(tmp_path / "metric_calibration.csv"),
          "--summary", str(tmp_path / "metric_reliability_summary.csv"), "--output", str(tmp_path / "c.png")])
    assert (tmp_path / "r.png").stat().st_size > 10_000 and (tmp_path / "c.png").stat().st_size > 10_000
