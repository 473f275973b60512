"""Canvas nets of [ISL21]'s location-dependent classification (docs/protocols.md section 5;
padpos.stages.canvas) and the ISL21 rows of the scorecard."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from padpos.stages.canvas import boundary as cv
from padpos.stages.canvas import geometry as geo
from padpos.stages.canvas import nets


# ---------------------------------------------------------------- cells, rings, canvases
def test_rings_and_kinds_of_a_3x3_and_an_8x8_grid():
    assert [geo.cell_kind(c, 3) for c in range(9)] == [
        "corner", "edge", "corner", "edge", "interior", "edge", "corner", "edge", "corner"]
    rings8 = [geo.cell_ring(c, 8) for c in range(64)]
    assert [rings8.count(r) for r in range(4)] == [28, 20, 12, 4]
    assert geo.innermost_ring(8) == 3 and geo.innermost_ring(3) == 1
    assert [geo.cell_ring(c, 5) for c in (0, 6, 12)] == [0, 1, 2]
    with pytest.raises(ValueError, match="outside"):
        geo.cell_ring(9, 3)


def test_place_in_cells_puts_each_image_in_its_row_major_cell_on_the_colour():
    k, s = 3, 4
    images = torch.rand(9, 3, s, s)
    cells = torch.arange(9).flip(0)
    colour = torch.tensor([0.1, 0.2, 0.3])
    out = geo.place_in_cells(images, cells, k, colour)
    assert out.shape == (9, 3, 12, 12)
    for i, cell in enumerate(cells.tolist()):
        r, c = divmod(cell, k)
        assert torch.equal(out[i, :, r * s : (r + 1) * s, c * s : (c + 1) * s], images[i])
        rest = out[i].clone()
        rest[:, r * s : (r + 1) * s, c * s : (c + 1) * s] = colour.view(3, 1, 1)
        assert torch.equal(rest, colour.view(3, 1, 1).expand(3, 12, 12))


def test_canvas_colours_and_the_mean_canvas_is_zero_after_normalisation():
    mean, std = [0.4, 0.5, 0.6], [0.2, 0.2, 0.2]
    assert torch.equal(geo.canvas_colour("black", mean), torch.zeros(3))
    assert torch.equal(geo.canvas_colour("white", mean), torch.ones(3))
    empty = geo.place_in_cells(torch.rand(1, 3, 4, 4), torch.tensor([0]), 3, geo.canvas_colour("mean", mean))
    assert nets.normalised(empty, mean, std)[0, :, 4:, 4:].abs().max() < 1e-6
    with pytest.raises(ValueError, match="allowed: black, white, mean"):
        geo.canvas_colour("grey", mean)


# ---------------------------------------------------------------- the grid rule
def test_receptive_fields_and_strides_of_the_small_nets():
    # small_resnet: 3x3 stem + 8 3x3 convs at jumps 1, 1, 1, 2, 2, 4, 4, 8 -> 1 + 2 * 24 = 49
    assert geo.receptive_field("small_resnet") == (49, 8)
    # small_plain: five 3x3 convs at jumps 1, 1, 1, 2, 4 -> 1 + 2 * 9 = 19
    assert geo.receptive_field("small_plain") == (19, 4)


def test_grid_rule_puts_the_innermost_ring_beyond_the_receptive_field():
    assert geo.grid_for(49, 16) == 8 and geo.grid_for(19, 16) == 6 and geo.grid_for(49, 8) == 14
    for rf, cell in ((49, 16), (19, 16), (49, 8), (78, 16)):
        k = geo.grid_for(rf, cell)
        assert k % 2 == 0 and geo.innermost_ring(k) * cell >= rf - 1
        assert (geo.innermost_ring(k) - 1) * cell < rf - 1  # the smallest such k


def test_innermost_cells_are_indistinguishable_so_location_cannot_saturate():
    """The rule's guarantee, on a zero-padded small_resnet: the four innermost cells of the
    8 x 8 grid of 16 px cells give the same logits (no unit sees image and border), while
    a border cell does not."""
    k, cell = geo.grid_for(49, 16), 16
    # float64: at initialisation the border moves the pooled logits by only ~1e-5
    model = nets.canvas_net("small_resnet", "zeros", k, 10, width=2, seed=0).double().eval()
    images = torch.rand(2, 3, cell, cell, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    colour = geo.canvas_colour("black", [0.5] * 3).double()
    inner = [c for c in range(k * k) if geo.cell_ring(c, k) == geo.innermost_ring(k)]
    with torch.no_grad():
        logits = {c: model(geo.place_in_cells(images, torch.full((2,), c), k, colour)) for c in [0, 9, *inner]}
    for c in inner[1:]:
        torch.testing.assert_close(logits[c], logits[inner[0]], rtol=0, atol=1e-12)
    for c in (0, 9):  # ring 0 and ring 1 (16 px from the border, inside the field)
        assert (logits[c] - logits[inner[0]]).abs().max() > 1e-10


def test_resolve_grid_takes_the_largest_field_and_refuses_cells_off_the_stride():
    spec = cv.spec_with_defaults({"archs": ["small_resnet", "small_plain"]})
    k, info = cv.resolve_grid(spec, "small_plain", 16)
    assert k == 8 and info == {"receptive_field_px": {"small_resnet": 49, "small_plain": 19}, "grid_rule": True}
    assert cv.resolve_grid({**spec, "grid": 3}, "small_plain", 16) == (3, {"receptive_field_px": None, "grid_rule": False})
    with pytest.raises(ValueError, match="not a multiple of small_resnet"):
        cv.resolve_grid({**spec, "grid": 3}, "small_resnet", 4)
    with pytest.raises(ValueError, match="canvas.cell_size: 12 px is not a multiple of small_resnet"):
        cv.resolve_grid(spec, "small_resnet", 12)


# ---------------------------------------------------------------- optimiser and schedule
def test_schedule_warms_up_then_decays_to_zero():
    lrs = [nets.lr_at(s, 100, 1.0) for s in range(100)]
    assert lrs[0] == pytest.approx(0.05) and max(lrs) == pytest.approx(1.0)
    assert int(np.argmax(lrs)) == 19 and lrs[-1] < 0.02
    assert all(a >= b for a, b in zip(lrs[19:], lrs[20:]))


# ---------------------------------------------------------------- the canvas nets
def _data(n, s=8, seed=0, classes=3):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, s, s, generator=gen), torch.randint(0, classes, (n,), generator=gen)


def test_circular_padding_scores_exactly_chance_when_cells_are_stride_multiples():
    """A circular net with global pooling is equivariant to moving the image by a
    multiple of its stride (8): every cell gets the same prediction -> 1/k^2 overall, and
    the class head gives the same answer in every cell."""
    k, mean, std = 3, [0.5] * 3, [0.25] * 3
    model = nets.canvas_net("small_resnet", "circular", k, 3, width=4, seed=0).eval()
    colour = geo.canvas_colour("black", mean)
    per_cell = nets.cell_accuracy(model, *_data(6), colour, k, mean, std)
    assert per_cell.shape == (2, 9)
    assert per_cell[0].mean() == pytest.approx(100.0 / 9)
    assert np.allclose(per_cell[1], per_cell[1][0])


def test_zero_padding_learns_the_cells_and_circular_cannot():
    """The test's two ends, measured: on a black canvas a zero-padded small_resnet finds
    the cell of 8 px images well above chance; a circular one stays at chance."""
    k, mean, std = 3, [0.5] * 3, [0.25] * 3
    train, test = _data(96, seed=1), _data(12, seed=2)
    acc = {}
    for padding in ("zeros", "circular"):
        model = nets.canvas_net("small_resnet", padding, k, 3, width=4, seed=0)
        colour = geo.canvas_colour("black", mean)
        fit = nets.train_canvas(model, *train, colour, k, mean, std, epochs=4, batch_size=16, lr=5e-3, seed=0)
        assert set(fit) == {"train_loss", "train_location_acc", "train_class_acc"}
        acc[padding] = nets.cell_accuracy(model, *test, colour, k, mean, std)[0].mean()
    assert acc["circular"] == pytest.approx(100.0 / 9)
    assert acc["zeros"] > 50.0


def test_class_head_learns_the_label_of_the_image():
    """Images whose class is their colour: the class head learns it wherever they sit."""
    k, mean, std = 2, [0.5] * 3, [0.25] * 3
    labels = torch.arange(64) % 2
    images = torch.zeros(64, 3, 8, 8)
    images[labels == 1, 0] = 1.0
    images[labels == 0, 2] = 1.0
    model = nets.canvas_net("small_resnet", "zeros", k, 2, width=4, seed=0)
    colour = geo.canvas_colour("mean", mean)
    fit = nets.train_canvas(model, images, labels, colour, k, mean, std, epochs=3, batch_size=16, lr=5e-3, seed=0)
    assert fit["train_class_acc"] > 90.0
    assert nets.cell_accuracy(model, images[:8], labels[:8], colour, k, mean, std)[1].min() == 100.0


def test_canvas_rows_per_colour_task_and_cell():
    spec = cv.spec_with_defaults({"colours": ["black", "mean"], "epochs": 1, "batch_size": 8,
                                  "lr": 1e-3, "width": 2, "grid": 2, "converged_train_acc": 0.0})  # fmt: skip
    df = nets.canvas_experiment("small_resnet", "zeros", 0, _data(8), _data(3), 3, [0.5] * 3, [0.25] * 3, spec)
    assert len(df) == 2 * 2 * 4
    assert list(df["canvas"].unique()) == ["black", "mean"] and list(df["task"].unique()) == ["location", "class"]
    assert set(df["ring"]) == {0} and set(df["kind"]) == {"corner"}  # a 2 x 2 grid is all corners
    assert (df["gap_px"] == 0).all() and (df["epoch_reported"] == "final").all() and (df["n_test"] == 3).all()
    assert set(df.loc[df.task == "location", "chance"]) == {25.0}
    assert df.loc[df.task == "class", "chance"].iloc[0] == pytest.approx(100 / 3)
    assert df["accuracy"].between(0, 100).all() and df["converged"].all()


def test_spec_names_unknown_keys_and_colours():
    with pytest.raises(ValueError, match="unknown key"):
        cv.spec_with_defaults({"colour": ["black"]})
    with pytest.raises(ValueError, match="unknown key"):
        cv.spec_with_defaults({"border_distance": {}})
    with pytest.raises(ValueError, match="canvas.colours"):
        cv.spec_with_defaults({"colours": ["grey"]})


# ---------------------------------------------------------------- one job
@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    from padpos.data import prepare_data

    out = tmp_path_factory.mktemp("canvas_data")
    prepare_data({"dataset": "synthetic", "image_size": 32, "num_train": 24, "num_test": 16,
                  "seed": 5}, out)  # fmt: skip
    return out / "manifest.json"


def test_sources_are_a_seeded_random_subset_with_labels(manifest):
    a = cv.subset(manifest, "train", 10, "train")
    assert list(a) != list(range(10)) and len(set(a.tolist())) == 10
    assert np.array_equal(a, cv.subset(manifest, "train", 10, "train"))
    assert not np.array_equal(a, cv.subset(manifest, "train", 10, "test"))
    pixels, labels = cv.source_images(manifest, "train", a, 16)
    assert pixels.shape == (10, 3, 16, 16) and labels.dtype == torch.int64 and len(labels) == 10


def _job_spec(**extra):
    return {"study": "t", "arch": "small_resnet", "padding": "reflect", "seed": 1, "colours": ["black"],
            "cell_size": 8, "grid": 3, "num_train": 16, "num_test": 4, "epochs": 1, "batch_size": 8,
            "lr": 1e-3, "width": 2, **extra}  # fmt: skip


def test_run_boundary_writes_rows_and_provenance(manifest, tmp_path):
    out = {"canvas": tmp_path / "c.csv", "provenance": tmp_path / "p.json"}
    prov = cv.run_boundary(_job_spec(archs=["small_resnet"]), manifest, out)
    assert prov["device"] == "cpu" and prov["versions"]["torch"]
    assert prov["grid"] == 3 and prov["canvas_side"] == 24 and prov["grid_rule"] is False
    rows = pd.read_csv(out["canvas"])
    assert list(rows.columns[:5]) == ["study", "arch", "padding", "seed", "cell_size"]
    assert len(rows) == 2 * 9 and (rows["padding"] == "reflect").all() and (rows["seed"] == 1).all()
    with pytest.raises(ValueError, match="lacks"):
        cv.run_boundary({k: v for k, v in _job_spec().items() if k != "padding"}, manifest, out)


def test_command_asks_for_cuda_and_records_the_cpu_without_one(manifest, tmp_path, monkeypatch):
    from padpos.cli import main

    asked = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: asked.append(True) or False)
    code = main(["canvas", "--spec", json.dumps(_job_spec(colours=["mean"], grid=2)), "--data", str(manifest),
                 "--canvas-output", str(tmp_path / "c.csv"), "--provenance", str(tmp_path / "p.json")])
    assert code == 0 and asked
    assert json.loads((tmp_path / "p.json").read_text())["device"] == "cpu"
    assert len(pd.read_csv(tmp_path / "c.csv")) == 2 * 4


# ---------------------------------------------------------------- tables
def _runs(k=4, seeds=(0, 1, 2), arms=(("small_resnet", "zeros", 60.0), ("small_resnet", "circular", 6.25),
                                      ("small_plain", "valid", 30.0)), canvases=("black", "mean")):  # fmt: skip
    """Per-run rows: location accuracy ``base`` minus 10 points per ring, class accuracy
    80 + 5 per ring (+ seed)."""
    rows = []
    for arch, padding, base in arms:
        for seed in seeds:
            for colour in canvases:
                for task in ("location", "class"):
                    for cell in range(k * k):
                        ring = geo.cell_ring(cell, k)
                        acc = base - 10 * ring if task == "location" else 80.0 + 5 * ring + seed
                        rows.append({"study": "t", "arch": arch, "padding": padding, "seed": seed,
                                     "cell_size": 16, "canvas": colour, "grid": k, "task": task,
                                     "cell": cell, "row": cell // k, "col": cell % k, "ring": ring,
                                     "gap_px": 16 * ring, "accuracy": acc + 0.1 * seed,
                                     "chance": 100 / k**2 if task == "location" else 10.0,
                                     "n_test": 16, "converged": True})  # fmt: skip
    return pd.DataFrame(rows)


def test_ring_table_averages_cells_per_ring_then_seeds():
    from padpos.stages import build_table

    out = build_table("canvas_location", _runs())
    zeros = out[(out.padding == "zeros") & (out.canvas == "mean") & (out.task == "location")]
    assert list(zeros["ring"]) == ["0", "1", "all"]
    assert zeros["mean"].tolist() == pytest.approx([60.1, 50.1, 60.1 - 10 * 4 / 16])
    assert (zeros["n"] == 3).all() and list(zeros["gap_px"][:2]) == [0, 16]
    assert list(dict.fromkeys(out["task"])) == ["location", "class"]
    assert set(out["arch"]) == {"small_resnet", "small_plain"}


def test_cell_table_keeps_every_cell():
    from padpos.stages import build_table

    out = build_table("canvas_cells", _runs())
    assert len(out) == 3 * 2 * 2 * 16
    assert {"cell", "row", "col", "ring", "mean", "n"} <= set(out.columns)


# ---------------------------------------------------------------- figures
def test_figures_draw_heat_maps_and_rings_for_several_seeds_and_one():
    from padpos.stages.canvas.figures import plot_border_distance, plot_canvas_location

    runs = _runs()
    fig = plot_canvas_location(runs, "t")
    text = fig._suptitle.get_text()
    assert "4 x 4 cells of 16 px" in text and "3 seeds" in text and "valid = padding-free small_plain" in text
    assert "1 seed" in plot_canvas_location(runs[runs.seed == 0], "t")._suptitle.get_text()
    fig = plot_border_distance(runs, "t")
    assert len(fig.axes) == 4 and "min..max over 3 seeds" in fig._suptitle.get_text()
    # the band spans the seeds' ring means and stays within them
    band = fig.axes[0].collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(50.0) and band.max() == pytest.approx(60.2)


def test_heat_maps_say_the_gradient_or_that_there_is_none():
    from padpos.stages.canvas.figures import plot_canvas_location

    runs = _runs()  # location: base - 10 per ring; circular flat at 6.25 - 10 * ring: a gradient too
    flat = (runs["padding"] == "circular") & (runs["task"] == "location")
    runs.loc[flat, "accuracy"] = 6.25
    fig = plot_canvas_location(runs, "t")
    labels = [ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()]
    assert "border - inner +10" in labels  # zeros: ring 0 minus ring 1 of a 4 x 4 grid
    assert "no gradient (+0.0)" in labels  # circular's flat maps
    assert "border - inner -5" in labels  # the class head: 80 + 5 per ring


def test_figures_say_plainly_when_the_nets_did_not_learn_their_task():
    from padpos.stages.canvas.figures import plot_border_distance, plot_canvas_location

    runs = _runs()
    for plot in (plot_canvas_location, plot_border_distance):
        assert "UNDERTRAINED" not in plot(runs, "t")._suptitle.get_text()
    one_net = (runs["padding"] == "zeros") & (runs["seed"] == 1) & (runs["canvas"] == runs["canvas"].iloc[0])
    runs.loc[one_net, "converged"] = False
    nets = runs.groupby(["arch", "padding", "canvas", "seed"]).ngroups
    for plot in (plot_canvas_location, plot_border_distance):
        assert f"UNDERTRAINED: 1 of {nets} nets did not learn" in plot(runs, "t")._suptitle.get_text()


# ---------------------------------------------------------------- the ISL21 rows
def _scorecard(runs):
    from padpos.stages import build_table
    from padpos.stages.claims.definitions import ISL21
    from padpos.stages.claims.scorecard import Tables, scorecard
    from padpos.stats import recording_runs

    with recording_runs() as recorded:
        table = build_table("canvas_location", runs)
    tables = Tables({"canvas_location": table}, "small_resnet", "small_plain",
                    runs={"canvas_location": pd.concat(recorded, ignore_index=True)})
    return scorecard(ISL21, tables).set_index("id")


def test_isl21_rows_pair_over_seeds_and_read_the_rings():
    card = _scorecard(_runs(arms=(("small_resnet", "zeros", 60.0), ("small_resnet", "none", 40.0),
                                  ("small_resnet", "circular", 6.25), ("small_plain", "valid", 30.0))))
    rings = card.loc["ISL21-a.rings.zeros"]
    assert rings["value"] == pytest.approx(10.0) and rings["verdict"] in ("supported", "inconclusive")
    assert "paired" in rings["method"]
    assert card.loc["ISL21-a.zeros_none", "value"] == pytest.approx(20.0)
    assert card.loc["ISL21-a.zeros_none", "verdict"] == "supported"
    # class accuracy rises inward by 5 points a ring: the border deficit of a 4 x 4 grid is 5
    assert card.loc["ISL21-b.zeros", "value"] == pytest.approx(5.0)
    assert card.loc["ISL21-b.zeros.vs_padding_free", "value"] == pytest.approx(0.0)
    assert card.loc["ISL21-a.circular", "verdict"] == "by construction"
    assert card.loc["ISL21-a.rings.reflect", "verdict"] == "inconclusive"  # not in the study


def test_border_deficit_against_the_padding_free_arm_carries_the_test_images_noise():
    # the four rings' accuracies are each measured on n_test placements per cell: the
    # difference of differences must be wider than its spread over seeds alone
    arms = (("small_resnet", "zeros", 60.0), ("small_plain", "valid", 30.0))
    row = _scorecard(_runs(arms=arms)).loc["ISL21-b.zeros.vs_padding_free"]
    assert row["method"].endswith("+ binomial (Wilson)")
    # seeds add the same offset to every ring: over seeds alone the interval is [0, 0]
    assert row["ci_low"] < -1.0 and row["ci_high"] > 1.0


def test_isl21_rows_guard_saturation_and_distribution():
    runs = _runs(arms=(("small_resnet", "zeros", 100.0), ("small_resnet", "none", 100.0),
                       ("small_plain", "valid", 30.0)))  # fmt: skip
    runs.loc[runs.task == "location", "accuracy"] = 100.0
    # the class head of zeros far off its held-out accuracy at the mid gap (ring 1 of 0..1 -> 0)
    runs.loc[(runs.padding == "zeros") & (runs.task == "class") & (runs.ring == 0), "accuracy"] = 20.0
    card = _scorecard(runs)
    assert card.loc["ISL21-a.zeros_none", "reason"].startswith("saturated")
    assert card.loc["ISL21-b.zeros", "reason"].startswith("inconclusive (out of distribution)")
    assert card.loc["ISL21-b.none", "verdict"] != "inconclusive" or "distribution" not in card.loc["ISL21-b.none", "reason"]


def test_colour_arms_run_the_other_colours_only_for_their_paddings():
    spec = cv.spec_with_defaults({"colours": ["mean", "black"], "colour_arms": ["zeros"], "epochs": 1,
                                  "batch_size": 8, "width": 2, "grid": 2})  # fmt: skip
    args = (0, _data(8), _data(2), 3, [0.5] * 3, [0.25] * 3, spec)
    assert list(nets.canvas_experiment("small_resnet", "zeros", *args)["canvas"].unique()) == ["mean", "black"]
    assert list(nets.canvas_experiment("small_resnet", "reflect", *args)["canvas"].unique()) == ["mean"]
    with pytest.raises(ValueError, match="canvas.colour_arms"):
        cv.spec_with_defaults({"colour_arms": "zeros"})
