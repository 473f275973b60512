"""Canvas location test and border distance (docs/protocols.md section 5; padpos.canvas)."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from padpos.stages.canvas import boundary as cv


# ---------------------------------------------------------------- cells, rings, canvases
def test_rings_of_a_3x3_and_a_5x5_grid():
    assert [cv.cell_ring(c, 3) for c in range(9)] == [
        "corner", "edge", "corner", "edge", "interior", "edge", "corner", "edge", "corner"]
    rings5 = [cv.cell_ring(c, 5) for c in range(25)]
    assert rings5.count("corner") == 4 and rings5.count("edge") == 12 and rings5.count("interior") == 9
    assert [cv.cell_border_distance(c, 5) for c in (0, 6, 12)] == [0, 1, 2]
    with pytest.raises(ValueError, match="outside"):
        cv.cell_ring(9, 3)


def test_place_in_cells_puts_each_image_in_its_row_major_cell_on_the_colour():
    k, s = 3, 4
    images = torch.rand(9, 3, s, s)
    cells = torch.arange(9).flip(0)
    colour = torch.tensor([0.1, 0.2, 0.3])
    out = cv.place_in_cells(images, cells, k, colour)
    assert out.shape == (9, 3, 12, 12)
    for i, cell in enumerate(cells.tolist()):
        r, c = divmod(cell, k)
        assert torch.equal(out[i, :, r * s : (r + 1) * s, c * s : (c + 1) * s], images[i])
        rest = out[i].clone()
        rest[:, r * s : (r + 1) * s, c * s : (c + 1) * s] = colour.view(3, 1, 1)
        assert torch.equal(rest, colour.view(3, 1, 1).expand(3, 12, 12))


def test_canvas_colours_and_the_mean_canvas_is_zero_after_normalisation():
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.2, 0.2]
    assert torch.equal(cv.canvas_colour("black", mean), torch.zeros(3))
    assert torch.equal(cv.canvas_colour("white", mean), torch.ones(3))
    empty = cv.place_in_cells(torch.rand(1, 3, 4, 4), torch.tensor([0]), 3, cv.canvas_colour("mean", mean))
    assert cv.normalised(empty, mean, std)[0, :, 4:, 4:].abs().max() < 1e-6
    with pytest.raises(ValueError, match="allowed: black, white, mean"):
        cv.canvas_colour("grey", mean)


# ---------------------------------------------------------------- optimiser and schedule
def test_schedule_warms_up_then_decays_to_zero():
    lrs = [cv.lr_at(s, 100, 1.0) for s in range(100)]
    assert lrs[0] == pytest.approx(0.05) and max(lrs) == pytest.approx(1.0)
    assert int(np.argmax(lrs)) == 19 and lrs[-1] < 0.02
    assert all(a >= b for a, b in zip(lrs[19:], lrs[20:]))


# ---------------------------------------------------------------- the location test
def _pixels(n, s=8, seed=0):
    return torch.rand(n, 3, s, s, generator=torch.Generator().manual_seed(seed))


def test_circular_padding_scores_exactly_chance_when_cells_are_stride_multiples():
    """A circular net with global pooling is equivariant to moving the image by a
    multiple of its stride (8): every cell gets the same prediction -> 1/k^2 overall."""
    k, mean, std = 3, [0.5] * 3, [0.25] * 3
    model = cv.location_net("small_resnet", "circular", k, width=4, seed=0).eval()
    colour = cv.canvas_colour("black", mean)
    per_cell = cv.cell_accuracy(model, _pixels(6, 8), colour, k, mean, std)
    assert per_cell.mean() == pytest.approx(100.0 / 9)
    # equivariance itself: the logits do not depend on the cell
    images = _pixels(2, 8)
    with torch.no_grad():
        logits = [model(cv.place_in_cells(images, torch.full((2,), c), k, colour)) for c in range(9)]
    for other in logits[1:]:
        torch.testing.assert_close(other, logits[0], rtol=1e-4, atol=1e-5)


def test_zero_padding_learns_the_cells_and_circular_cannot():
    """The test's two ends, measured: on a black canvas a zero-padded small_resnet finds
    the cell of 16 px images well above chance; a circular one stays at chance."""
    k, mean, std = 3, [0.5] * 3, [0.25] * 3
    train, test = _pixels(96, 8, seed=1), _pixels(12, 8, seed=2)
    acc = {}
    for padding in ("zeros", "circular"):
        model = cv.location_net("small_resnet", padding, k, width=4, seed=0)
        colour = cv.canvas_colour("black", mean)
        cv.train_location(model, train, colour, k, mean, std, epochs=4, batch_size=16, lr=5e-3, seed=0)
        acc[padding] = cv.cell_accuracy(model, test, colour, k, mean, std).mean()
    assert acc["circular"] == pytest.approx(100.0 / 9)
    assert acc["zeros"] > 50.0


def test_canvas_location_rows_per_colour_and_cell():
    spec = cv.spec_with_defaults({"colours": ["black", "mean"], "epochs": 1, "batch_size": 8,
                                  "lr": 1e-3, "width": 2, "grid": 2})
    df = cv.canvas_location("small_resnet", "zeros", 0, _pixels(8), _pixels(3), [0.5] * 3,
                            [0.25] * 3, spec)
    assert len(df) == 2 * 4
    assert list(df["canvas"].unique()) == ["black", "mean"]
    assert set(df["ring"]) == {"corner"}  # a 2 x 2 grid is all corners
    assert (df["epoch_reported"] == "final").all() and (df["n_test"] == 3).all()
    assert df["accuracy"].between(0, 100).all()


def test_spec_names_unknown_keys_and_colours():
    with pytest.raises(ValueError, match="unknown key"):
        cv.spec_with_defaults({"colour": ["black"]})
    with pytest.raises(ValueError, match="canvas.colours"):
        cv.spec_with_defaults({"colours": ["grey"]})


# ---------------------------------------------------------------- border distance
@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    from padpos.data import prepare_data

    out = tmp_path_factory.mktemp("canvas_data")
    prepare_data({"dataset": "synthetic", "image_size": 32, "num_train": 24, "num_test": 16,
                  "seed": 5}, out)  # fmt: skip
    return out / "manifest.json"


def test_moved_scenes_put_every_object_at_the_distance_on_its_side():
    from padpos.data import render_scene_params, scene_params

    params = scene_params(3, "test", range(8))
    for d in (0, 1, cv.max_scene_distance(32)):
        moved = cv.moved_scene_params(params, d, 32)
        np.testing.assert_allclose(cv.object_border_gap(moved, 32), d, atol=1e-9)
        # only the centre moves: shape, size, colour and background are the same scene
        for key in params:
            if key != "center":
                np.testing.assert_array_equal(moved[key], params[key])
    # the object sits on the side SIDES[i % 4]: scene 0 near the top (smallest y)
    moved = cv.moved_scene_params(params, 0, 32)
    assert moved["center"][0, 1] < 0.5 and moved["center"][1, 0] > 0.5
    assert moved["center"][2, 1] > 0.5 and moved["center"][3, 0] < 0.5
    images, labels = render_scene_params(moved, 32)
    assert images.shape == (8, 3, 32, 32) and torch.equal(labels, torch.from_numpy(params["label"]))
    with pytest.raises(ValueError, match=f"largest allowed: {cv.max_scene_distance(32)} px"):
        cv.moved_scene_params(params, 12, 32)


def test_a_wider_field_allows_larger_gaps_with_the_object_at_its_trained_size():
    """margin_px renders the same scene wider: the object keeps its pixel size and sits d px
    from the field's border, for gaps a 32 px scene alone cannot give."""
    from padpos.data import render_scene_params, scene_params

    params = scene_params(3, "test", range(4))
    margin = 12
    largest = cv.max_scene_distance(32, margin)
    assert largest == cv.max_scene_distance(32) + margin and cv.default_distances(32, margin)[-1] == largest
    for d in (0, 8, largest):
        moved = cv.moved_scene_params(params, d, 32, margin)
        np.testing.assert_allclose(cv.object_border_gap(moved, 32, margin), d, atol=1e-9)
    images, _ = render_scene_params(cv.moved_scene_params(params, 0, 32, margin), 32, margin)
    assert images.shape == (4, 3, 56, 56)
    # scene 0's object touches the top of the field: its rows differ from the background there
    plain, _ = render_scene_params({**params, "radius": params["radius"] * 0}, 32, margin)
    assert (images[0, :, 0, :].float() - plain[0, :, 0, :].float()).abs().amax() > 10
    with pytest.raises(ValueError, match=f"largest allowed: {largest} px"):
        cv.moved_scene_params(params, largest + 20, 32, margin)


def test_default_distances_fit_the_largest_object():
    from padpos.data.synthetic import RADIUS_RANGE

    largest = cv.max_scene_distance(32)
    assert cv.default_distances(32) == list(range(largest + 1)) and largest >= 2
    assert largest <= (0.5 - RADIUS_RANGE[1]) * 32 < largest + 1


def test_paste_at_distance_sets_the_gap_to_the_nearest_canvas_border():
    images = torch.ones(4, 3, 6, 6)
    for d in (0, 2, 5):
        out = cv.paste_at_distance(images, d, 5, torch.zeros(3))
        assert out.shape == (4, 3, 16, 16)
        for i in range(4):
            rows = torch.nonzero(out[i, 0].amax(1)).flatten()
            cols = torch.nonzero(out[i, 0].amax(0)).flatten()
            gaps = [int(rows[0]), 15 - int(cols[-1]), 15 - int(rows[-1]), int(cols[0])]
            assert min(gaps) == d and gaps[i] == d  # side i % 4 = top, right, bottom, left


def test_border_distance_rows_for_scenes(manifest):
    torch.manual_seed(0)
    from padpos.models import build_model

    model = build_model("small_resnet", "zeros", 10, width=2).eval()
    df = cv.accuracy_by_border_distance(model, manifest, {"num_images": 12, "distances": [0, 2]})
    assert list(df["distance_px"]) == [0, 2] and (df["method"] == "scene").all()
    assert (df["n"] == 12).all() and df["accuracy"].between(0, 100).all() and (df["field_px"] == 32).all()
    wide = cv.accuracy_by_border_distance(model, manifest, {"num_images": 4, "distances": [0, 12],
                                                            "margin_px": 10})  # fmt: skip
    assert list(wide["distance_px"]) == [0, 12] and (wide["field_px"] == 52).all()


def test_subsets_are_random_not_the_first_images_and_the_same_for_every_call(manifest):
    a = cv.subset(manifest, "train", 10, "train")
    assert list(a) != list(range(10)) and len(set(a.tolist())) == 10
    assert np.array_equal(a, cv.subset(manifest, "train", 10, "train"))
    assert not np.array_equal(a, cv.subset(manifest, "train", 10, "border"))


def test_run_boundary_writes_both_tables_and_provenance(manifest, tmp_path):
    from padpos.io import save_torch
    from padpos.models import build_model, checkpoint_dict

    torch.manual_seed(0)
    model = build_model("small_resnet", "reflect", 10, width=2)
    meta = {"arch": "small_resnet", "padding": "reflect", "num_classes": 10, "width": 2, "seed": 1,
            "epoch": 1, "image_size": 32, "failed": True}
    save_torch(tmp_path / "model.pt", checkpoint_dict(model, meta))
    out = {k: tmp_path / f"{k}.{ext}" for k, ext in
           (("canvas", "csv"), ("border", "csv"), ("provenance", "json"))}  # fmt: skip
    spec = {"study": "t", "colours": ["black", "white"], "cell_size": 8, "num_train": 16,
            "num_test": 4, "epochs": 1, "batch_size": 8, "lr": 1e-3,
            "border_distance": {"num_images": 8, "distances": [0, 2]}}
    prov = cv.run_boundary(spec, tmp_path / "model.pt", manifest, out)
    assert prov["wall_time_s"] >= prov["border_wall_time_s"] and prov["versions"]["torch"]
    assert prov["device"] == "cpu"
    loc, border = pd.read_csv(out["canvas"]), pd.read_csv(out["border"])
    assert list(loc.columns[:5]) == ["study", "arch", "padding", "seed", "cell_size"]
    assert len(loc) == 2 * 9 and (loc["padding"] == "reflect").all() and (loc["seed"] == 1).all()
    assert list(border.columns[:5]) == ["study", "arch", "padding", "seed", "failed"]
    # training flagged the backbone failed (in the model's meta): every border row says so
    assert list(border["distance_px"]) == [0, 2] and border["failed"].all() and prov["backbone_failed"]
    assert prov["spec"]["width"] == 2 and prov["canvas_side"] == 24


# ---------------------------------------------------------------- tables
def _location_runs():
    rows = []
    for padding, base in (("zeros", 90.0), ("circular", 11.0)):
        for seed in (0, 1):
            for colour in ("black", "mean"):
                for cell in range(9):
                    ring = cv.cell_ring(cell, 3)
                    acc = base + seed + (5.0 if ring == "interior" else 0.0)
                    rows.append({"study": "t", "arch": "small_resnet", "padding": padding,
                                 "seed": seed, "canvas": colour, "cell": cell, "ring": ring,
                                 "accuracy": acc})  # fmt: skip
    return pd.DataFrame(rows)


def test_canvas_table_averages_cells_per_ring_then_seeds():
    from padpos.stages import build_table

    out = build_table("canvas_location", _location_runs())
    assert list(out.columns) == ["padding", "canvas", "ring", "mean", "std", "n", "ci95", "n_failed"]
    row = out[(out.padding == "zeros") & (out.canvas == "black") & (out.ring == "interior")].iloc[0]
    assert row["mean"] == pytest.approx(95.5) and row["n"] == 2
    row = out[(out.padding == "zeros") & (out.canvas == "black") & (out.ring == "all")].iloc[0]
    assert row["mean"] == pytest.approx(90.5 + 5.0 / 9)
    assert list(out["ring"][:4]) == ["corner", "edge", "interior", "all"]
    assert list(dict.fromkeys(out["padding"])) == ["zeros", "circular"]


def test_border_table_per_padding_and_distance():
    runs = pd.DataFrame([
        {"study": "t", "arch": "a", "padding": p, "seed": s, "failed": False, "method": "scene",
         "distance_px": d, "accuracy": 50.0 + d + s, "n": 10}
        for p in ("zeros", "none") for s in (0, 1) for d in (0, 3)])  # fmt: skip
    from padpos.stages import build_table

    runs.loc[(runs.padding == "none") & (runs.seed == 1), "failed"] = True
    out = build_table("border_distance", runs)
    assert list(out.columns[:3]) == ["padding", "method", "distance_px"]
    assert list(out["distance_px"]) == [0, 3, 0, 3]
    assert out["mean"].tolist() == pytest.approx([50.5, 53.5, 50.0, 53.0])
    assert math.isfinite(out["std"].iloc[0]) and out["ci95"].iloc[0] > 0
    # the failed backbone's runs are counted, not averaged in; one seed left: no spread
    none = out[out.padding == "none"]
    assert (none["n"] == 1).all() and (none["n_failed"] == 1).all() and none["std"].isna().all()


def test_too_large_distances_name_the_config_key(manifest):
    from padpos.models import build_model

    model = build_model("small_resnet", "zeros", 10, width=2).eval()
    with pytest.raises(ValueError, match="canvas.border_distance.distances"):
        cv.accuracy_by_border_distance(model, manifest, {"num_images": 4, "distances": [0, 9]})


# ---------------------------------------------------------------- figures
def test_figures_draw_several_seeds_one_seed_and_failed_runs():
    from padpos.stages.canvas.figures import plot_border_distance, plot_canvas_location

    runs = _location_runs()
    runs["grid"], runs["epoch_reported"] = 3, "final"
    fig = plot_canvas_location(runs, "t")
    assert "final epoch" in fig._suptitle.get_text() and "over 2 seeds" in fig._suptitle.get_text()
    fig = plot_canvas_location(runs[runs.seed == 0], "t")
    assert "1 seed" in fig._suptitle.get_text()
    border = pd.DataFrame([
        {"arch": "a", "padding": p, "seed": s, "failed": p == "none" and s == 1,
         "method": "scene", "distance_px": d, "accuracy": 50.0 + d, "n": 10}
        for p in ("zeros", "none") for s in (0, 1) for d in (0, 3)])  # fmt: skip
    fig = plot_border_distance(border, "t")
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "none (failed run)" in labels and "zeros" in labels


def test_command_asks_for_cuda_and_records_the_cpu_without_one(manifest, tmp_path, monkeypatch):
    import json

    from padpos.cli import main
    from padpos.io import save_torch
    from padpos.models import build_model, checkpoint_dict

    asked = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: asked.append(True) or False)
    torch.manual_seed(0)
    meta = {"arch": "small_resnet", "padding": "zeros", "num_classes": 10, "width": 2, "seed": 0,
            "epoch": 1, "image_size": 32}  # fmt: skip
    save_torch(tmp_path / "model.pt", checkpoint_dict(build_model("small_resnet", "zeros", 10, width=2), meta))
    spec = {"study": "t", "seed": 0, "colours": ["mean"], "cell_size": 8, "num_train": 8, "num_test": 2,
            "epochs": 1, "batch_size": 4, "border_distance": {"num_images": 4, "distances": [0]}}
    code = main(["canvas", "--spec", json.dumps(spec), "--checkpoint", str(tmp_path / "model.pt"),
                 "--data", str(manifest), "--canvas-output", str(tmp_path / "c.csv"),
                 "--border-output", str(tmp_path / "b.csv"), "--provenance", str(tmp_path / "p.json")])
    assert code == 0 and asked
    assert json.loads((tmp_path / "p.json").read_text())["device"] == "cpu"
    assert len(pd.read_csv(tmp_path / "c.csv")) == 9 and len(pd.read_csv(tmp_path / "b.csv")) == 1


def test_border_distance_band_spans_the_seeds_and_stays_within_them():
    # two seeds near 100 %: a +-std band ran past 100 %; min..max stays within the seeds
    from padpos.stages.canvas.figures import plot_border_distance

    border = pd.DataFrame([
        {"arch": "a", "padding": "zeros", "seed": s, "failed": False, "method": "scene",
         "distance_px": d, "accuracy": acc, "n": 10}
        for s, accs in ((0, (97.0, 100.0)), (1, (100.0, 100.0))) for d, acc in zip((0, 3), accs)])  # fmt: skip
    fig = plot_border_distance(border, "t")
    band = fig.axes[0].collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(97.0) and band.max() == pytest.approx(100.0)
    assert "min..max over 2 seeds" in fig._suptitle.get_text()
