"""F-Conv tests (docs/protocols.md 4): Red-Green generator and nets, location-test data and border sweep."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from padpos.stages.fconv_location import location as loc
from padpos.stages.fconv_redgreen import redgreen as rg

SIZES = {"train": 400, "val": 200, "test": 200}


@pytest.fixture(scope="module")
def box_sets():
    return rg.make_box_sets(3, SIZES)


# ---------------------------------------------------------------- Red-Green data
def _box_tensors(data_seed: int, **sizes: int) -> dict:
    """Red-Green train / val / similar / dissimilar sets as (images, labels) tensors."""
    return {k: s.tensors() for k, s in rg.make_box_sets(data_seed, sizes).items()}


def _box_columns(images: torch.Tensor, channel: int) -> np.ndarray:
    """Left column of the box in ``channel`` of each image (from the pixels)."""
    cols = images[:, channel].amax(dim=1)  # N x W: which columns hold the box
    return cols.argmax(dim=1).numpy()


def _box_rows(images: torch.Tensor, channel: int) -> np.ndarray:
    return images[:, channel].amax(dim=2).argmax(dim=1).numpy()


def test_sizes_and_alternating_classes(box_sets):
    for split, n in (("train", 400), ("val", 200), ("similar", 200), ("dissimilar", 200)):
        assert len(box_sets[split]) == n
        assert (box_sets[split].labels == np.arange(n) % 2).all()


def test_class_rule_red_left_of_green_for_class_0(box_sets):
    images, labels = box_sets["train"].tensors()
    red, green = _box_columns(images, rg.RED), _box_columns(images, rg.GREEN)
    labels = labels.numpy()
    assert (red[labels == 0] < green[labels == 0]).all()
    assert (green[labels == 1] < red[labels == 1]).all()
    assert (np.abs(red - green) >= 5).all()
    assert images[:, 2].abs().sum() == 0  # blue channel stays black
    assert torch.equal(images[:, :2].sum(dim=(2, 3)), torch.full((len(images), 2), 16.0))


def test_positions_within_protocol_ranges(box_sets):
    s = box_sets["train"]
    rr, rc, gr, gc = s.boxes.T
    left_col = np.where(s.labels == 0, rc, gc)
    right_col = np.where(s.labels == 0, gc, rc)
    assert left_col.min() >= 0 and left_col.max() <= 9
    assert right_col.max() <= 27 and (right_col - left_col >= 5).all()
    for label, base in ((0, 7), (1, 23)):
        rows = np.concatenate([rr[s.labels == label], gr[s.labels == label]])
        assert rows.min() >= base - 4 and rows.max() <= base + 3
    # the jitter really spans its range with 400 images
    assert set(rr[s.labels == 0]) == set(range(3, 11))


def test_dissimilar_is_the_similar_set_shifted_by_16_rows(box_sets):
    sim, labels = box_sets["similar"].tensors()
    dis, labels_d = box_sets["dissimilar"].tensors()
    assert torch.equal(labels, labels_d)
    down = labels == 0
    assert torch.equal(dis[down], torch.roll(sim[down], 16, dims=2))
    assert torch.equal(dis[~down], torch.roll(sim[~down], -16, dims=2))
    # each class now sits where the other class was trained
    assert _box_rows(dis[down], rg.RED).min() >= 19
    assert _box_rows(dis[~down], rg.GREEN).max() <= 10


def test_splits_share_no_image(box_sets):
    keys = {name: box_sets[name].keys() for name in ("train", "val", "similar", "dissimilar")}
    names = list(keys)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not keys[a] & keys[b], (a, b)
    # and pixel-wise, not just by box coordinates
    flat = {n: {x.numpy().tobytes() for x in box_sets[n].render()} for n in ("train", "similar")}
    assert not flat["train"] & flat["similar"]


def test_splits_come_from_separate_streams():
    a = rg.make_box_sets(0, SIZES)
    b = rg.make_box_sets(0, {**SIZES, "train": 50})
    c = rg.make_box_sets(1, SIZES)
    # the training set is not a prefix-copy of another split (the official code's overlap)
    assert not (a["train"].boxes[:200] == a["val"].boxes).all(axis=1).any()
    # same seed -> same data; other seed -> other data
    assert (rg.make_box_sets(0, SIZES)["similar"].boxes == a["similar"].boxes).all()
    assert not (c["train"].boxes == a["train"].boxes).all()
    # a validation image does not depend on the training set's size, except for
    # the few that had to be redrawn because they were in the larger training set
    same = (a["val"].boxes == b["val"].boxes).all(axis=1).mean()
    assert 0.9 < same < 1


def test_draw_boxes_excludes_given_images():
    first = rg.draw_boxes(0, "train", 300)
    unrestricted = rg.draw_boxes(0, "val", 300)
    second = rg.draw_boxes(0, "val", 300, frozenset(first.keys()))
    assert first.keys() & unrestricted.keys()  # collisions are common without exclusion
    assert not first.keys() & second.keys()


# ---------------------------------------------------------------- Red-Green net
@pytest.mark.parametrize(
    "variant, final_size",
    [("valid", 2), ("zeros", 4), ("reflect", 4), ("replicate", 4), ("circular", 4),
     ("partial", 4), ("none", 4), ("full", 6), ("circular_pad2", 6)],
)  # fmt: skip
def test_redgreen_net_shapes(variant, final_size):
    net = rg.RedGreenNet(variant)
    x = torch.rand(3, 3, 32, 32)
    assert net.features(x).shape == (3, 64, final_size, final_size)
    assert net(x).shape == (3, 2)
    assert sum(p.numel() for p in net.parameters()) == 27 * 32 + 9 * 32 * 32 + 9 * 32 * 64 + 9 * 64 * 64 + 130
    assert all(conv.bias is None for conv in net.convs)


@pytest.mark.parametrize("variant", list(rg.VARIANTS))
def test_redgreen_net_in_place_relu_gives_the_plain_values_and_gradients(variant, box_sets):
    # features() applies its ReLU in place; the out-of-place composition is the reference
    torch.manual_seed(0)
    net = rg.RedGreenNet(variant)
    X, y = box_sets["train"].tensors()
    X, y = X[:8], y[:8]

    def plain(x):
        for conv in net.convs:
            x = torch.relu(conv(x))
        return net.fc(torch.amax(x, dim=(2, 3)))

    grads = []
    for forward in (net, plain):
        net.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(forward(X), y)
        loss.backward()
        grads.append((loss.detach(), [p.grad.clone() for p in net.parameters()]))
    (loss, g), (ref_loss, ref_g) = grads
    assert torch.equal(loss, ref_loss)
    assert all(torch.equal(a, b) for a, b in zip(g, ref_g))


def test_redgreen_symmetric_net_is_replicates_bit_for_bit(box_sets):
    # why the default study leaves symmetric out of the Red-Green test: with 1-pixel
    # borders its net computes exactly what replicate's does
    X, y = box_sets["train"].tensors()
    X = X[:8]
    grads = {}
    for variant in ("symmetric", "replicate"):
        torch.manual_seed(4)
        net = rg.RedGreenNet(variant)
        loss = F.cross_entropy(net(X), y[:8])
        loss.backward()
        grads[variant] = [loss.detach()] + [p.grad for p in net.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(grads["symmetric"], grads["replicate"]))


def test_unknown_variant_is_named():
    with pytest.raises(ValueError, match="circular_pad3"):
        rg.RedGreenNet("circular_pad3")


def test_circular_net_cannot_tell_similar_from_dissimilar(box_sets):
    # a 16-row shift is a multiple of the net's total stride (8) on a 32-row torus:
    # the circular net's max-pooled features are exactly invariant to it
    torch.manual_seed(0)
    net = rg.RedGreenNet("circular").eval()
    sim, _ = box_sets["similar"].tensors()
    dis, _ = box_sets["dissimilar"].tensors()
    with torch.no_grad():
        assert torch.allclose(net(sim[:20]), net(dis[:20]), atol=1e-5)


def test_fit_stops_early_and_restores_best_weights(monkeypatch):
    data = _box_tensors(0, train=20, val=10, test=10)
    # scripted validation losses: best at epoch 3, then 2 epochs without improvement
    losses = iter([0.6, 0.5, 0.3, 0.35, 0.31, 0.2, 0.1])
    accuracies = iter([50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 99.0])
    snapshots = []

    def fake_evaluate(net, X, y, batch_size=500):
        snapshots.append({k: v.clone() for k, v in net.state_dict().items()})
        return next(losses), next(accuracies)

    monkeypatch.setattr(rg, "loss_and_accuracy", fake_evaluate)
    torch.manual_seed(0)
    net = rg.RedGreenNet("zeros")
    history = rg.fit(net, data, max_epochs=7, patience=2, batch_size=10)
    # the validation accuracy is the best epoch's, not the last one's
    assert history == {"best_epoch": 3, "epochs_run": 5, "val_loss": 0.3, "val_accuracy": 70.0, "converged": True}
    assert len(snapshots) == 5  # one evaluation per epoch, none after the weights are restored
    best = snapshots[2]
    assert all(torch.equal(best[k], v) for k, v in net.state_dict().items())
    assert not torch.equal(snapshots[4]["fc.weight"], best["fc.weight"])  # it did train on


def test_fit_reports_the_restored_weights_own_validation_accuracy():
    data = _box_tensors(2, train=100, val=50, test=50)
    torch.manual_seed(0)
    net = rg.RedGreenNet("zeros")
    history = rg.fit(net, data, max_epochs=4, patience=1, batch_size=25)
    assert 1 <= history["best_epoch"] <= history["epochs_run"]
    assert history["val_accuracy"] == rg.loss_and_accuracy(net, *data["val"])[1]
    rows = rg.result_rows(net, "zeros", 0, data, history, 1.0)
    assert [row["val_accuracy"] for row in rows] == [history["val_accuracy"]] * 2


def test_fit_without_an_improving_epoch_reports_the_initial_weights_accuracy():
    # best epoch 0 (no finite validation loss): the restored weights are the initial ones,
    # which no epoch evaluated
    data = _box_tensors(0, train=20, val=10, test=10)
    torch.manual_seed(0)
    net = rg.RedGreenNet("zeros")
    history = rg.fit(net, data, max_epochs=0, patience=2, batch_size=10)
    assert history["best_epoch"] == history["epochs_run"] == 0
    assert history["val_accuracy"] == rg.loss_and_accuracy(net, *data["val"])[1]


def test_run_variant_rows_and_table():
    spec = {"variant": "zeros", "seeds": [0, 1], "max_epochs": 1, "patience": 1, "min_accuracy": 0,
            "batch_size": 50, "sizes": {"train": 100, "val": 50, "test": 50}}  # fmt: skip
    runs = rg.run_variant(spec)
    assert list(runs.columns) == rg.RESULT_COLUMNS
    assert len(runs) == 4 and set(runs["test_set"]) == {"similar", "dissimilar"}
    assert runs["accuracy"].between(0, 100).all()
    from padpos.stages import build_table

    table = build_table("fconv_redgreen", runs)
    assert list(table.columns) == ["padding", "test_set", "accuracy_mean", "accuracy_std", "n",
                                   "accuracy_ci95", "n_failed", "n_unconverged", "unconverged_seeds"]
    # one epoch with patience 1: the best epoch is the last one, early stopping never ran
    assert not runs["converged"].any() and (table["n_unconverged"] == 2).all()
    assert set(table["unconverged_seeds"]) == {"0 1"}
    assert (table["n"] == 2).all()
    sim = runs[runs.test_set == "similar"]["accuracy"]
    assert table.loc[table.test_set == "similar", "accuracy_mean"].item() == pytest.approx(sim.mean())


@pytest.mark.parametrize("variant", ["zeros", "partial", "none", "full"])
def test_batched_seeds_equal_the_per_seed_loop(variant):
    data = _box_tensors(1, train=100, val=50, test=50)
    seeds = [0, 1, 2]
    fitted = rg.fit_seeds(variant, seeds, data, max_epochs=3, patience=1, batch_size=25)
    for seed, (net, history) in zip(seeds, fitted):
        torch.manual_seed(seed)
        ref = rg.RedGreenNet(variant)
        ref_history = rg.fit(ref, data, max_epochs=3, patience=1, batch_size=25)
        assert (history["best_epoch"], history["epochs_run"]) == (
            ref_history["best_epoch"], ref_history["epochs_run"])  # fmt: skip
        assert history["val_loss"] == pytest.approx(ref_history["val_loss"], rel=1e-5)
        assert history["val_accuracy"] == ref_history["val_accuracy"]
        assert history["val_accuracy"] == rg.loss_and_accuracy(net, *data["val"])[1]
        assert history["converged"] == ref_history["converged"]
        for key, value in ref.state_dict().items():
            torch.testing.assert_close(net.state_dict()[key], value, rtol=1e-4, atol=1e-5)


def test_batched_seeds_take_the_restored_nets_own_validation_accuracy(monkeypatch):
    # the accuracy that decides `failed` is the restored net's (as fit()), not the batched
    # model's: a vmapped argmax may flip on a near tie. The spy marks evaluate()'s numbers.
    real = rg.loss_and_accuracy

    def marked(net, X, y, batch_size=500):
        loss, accuracy = real(net, X, y, batch_size)
        return loss, accuracy + 0.25

    monkeypatch.setattr(rg, "loss_and_accuracy", marked)
    data = _box_tensors(1, train=60, val=40, test=20)
    fitted = rg.fit_seeds("zeros", [0, 1], data, max_epochs=2, patience=1, batch_size=20)
    for net, history in fitted:
        assert history["best_epoch"] >= 1
        assert history["val_accuracy"] == real(net, *data["val"])[1] + 0.25


def test_run_variant_batched_gives_the_loop_rows():
    spec = {"variant": "valid", "seeds": [3, 4], "max_epochs": 2, "patience": 1,
            "batch_size": 50, "sizes": {"train": 100, "val": 50, "test": 50}}  # fmt: skip
    a, b = rg.run_variant(spec, batched=True), rg.run_variant(spec, batched=False)
    same = ["padding", "seed", "test_set", "best_epoch", "epochs_run", "failed", "converged"]
    pd.testing.assert_frame_equal(a[same], b[same])
    np.testing.assert_allclose(a[["accuracy", "val_accuracy", "val_loss"]],
                               b[["accuracy", "val_accuracy", "val_loss"]], atol=1e-4)  # fmt: skip


def test_a_redgreen_seed_below_the_floor_is_flagged_and_warned():
    from padpos.stats import FailedRunWarning

    spec = {"variant": "zeros", "seeds": [0], "max_epochs": 1, "patience": 1, "batch_size": 50,
            "sizes": {"train": 50, "val": 20, "test": 20}, "min_accuracy": 101.0}  # fmt: skip
    with pytest.warns(FailedRunWarning, match="red-green zeros/seed0"):
        runs = rg.run_variant(spec)
    assert runs["failed"].dtype == bool and runs["failed"].all()
    passed = rg.run_variant({**spec, "seeds": [1], "min_accuracy": 0.0})
    assert not passed["failed"].any()
    from padpos.stages import build_table

    table = build_table("fconv_redgreen", pd.concat([runs, passed]))
    assert (table["n_failed"] == 1).all() and (table["n"] == 1).all()
    for test_set, acc in passed.set_index("test_set")["accuracy"].items():
        assert table.set_index("test_set").loc[test_set, "accuracy_mean"] == pytest.approx(acc)


def test_describe_scale():
    assert rg.describe_scale({}) == "paper scale"
    text = rg.describe_scale({"max_epochs": 8, "patience": 3})
    assert text.startswith("reduced:") and "8 epochs" in text


# ---------------------------------------------------------------- location test
def test_paste_on_canvas_corners_and_labels():
    patches = torch.rand(3, 3, 56, 56) + 0.1
    X, y = loc.paste_on_canvas(patches)
    assert X.shape == (6, 3, 120, 120) and y.tolist() == [0, 0, 0, 1, 1, 1]
    assert torch.equal(X[0, :, :56, :56], patches[0])
    assert torch.equal(X[3, :, 64:, 64:], patches[0])
    assert X[0, :, 56:, :].abs().sum() == 0 and X[0, :, :, 56:].abs().sum() == 0
    assert X[3, :, :64, :].abs().sum() == 0 and X[3, :, :, :64].abs().sum() == 0


@pytest.mark.parametrize("padding", ["zeros", "circular", "reflect", "full"])
def test_border_grows_first_conv_padding(padding):
    net = loc.location_resnet18(padding, width=4)
    base = loc.input_size_after_border(net)
    for border in (16, 32):
        loc.set_border(net, border)
        # conv1 is 7x7 stride 2: 2*border more input pixels -> border more outputs
        assert loc.input_size_after_border(net) == base + border
    loc.set_border(net, 0)
    assert loc.input_size_after_border(net) == base
    assert net(torch.rand(2, 3, 120, 120)).shape == (2, 2)


def test_location_resnet18_layout():
    net = loc.location_resnet18("zeros", width=8)
    assert [len(getattr(net, f"layer{i}")) for i in range(1, 5)] == [2, 2, 2, 2]
    assert net.layer4[-1].conv2.out_channels == 64 and net.fc.in_features == 64
    assert isinstance(net.avgpool, torch.nn.AdaptiveMaxPool2d)
    full = loc.location_resnet18("zeros", width=64)
    assert full.layer4[-1].conv2.out_channels == 512


@pytest.fixture(scope="module")
def synthetic_manifest(tmp_path_factory):
    from padpos.data import prepare_data

    out = tmp_path_factory.mktemp("data")
    spec = {"dataset": "synthetic", "image_size": 32, "num_train": 12, "num_test": 8, "seed": 5}
    prepare_data(spec, out)
    return out / "manifest.json"


def test_location_train_and_test_images_are_disjoint(synthetic_manifest):
    data = loc.location_data(synthetic_manifest, 12, 8)
    (Xtr, ytr), (Xte, yte) = data["train"], data["test"]
    assert Xtr.shape == (24, 3, 120, 120) and Xte.shape == (16, 3, 120, 120)
    assert (ytr == 0).sum() == 12 and (yte == 1).sum() == 8
    train_src = loc.image_digests(Xtr[:12, :, :56, :56])
    test_src = loc.image_digests(Xte[:8, :, :56, :56])
    assert len(train_src) == 12 and len(test_src) == 8
    assert not train_src & test_src
    # every source image appears once per corner: content carries no label
    assert loc.image_digests(Xtr[12:, :, 64:, 64:]) == train_src


def test_location_sources_are_56px_in_unit_range(synthetic_manifest):
    x = loc.source_images(synthetic_manifest, "train", 4)
    assert x.shape == (4, 3, 56, 56) and 0 <= x.min() and x.max() <= 1 and x.std() > 0.01
    with pytest.raises(ValueError, match="num_test"):
        loc.source_images(synthetic_manifest, "test", 9)


def test_run_location_border_sweep(synthetic_manifest):
    spec = {"padding": "zeros", "init": "scratch", "seed": 0, "borders": [0, 8],
            "num_train": 4, "num_test": 4, "epochs": 1, "width": 4, "batch_size": 4, "lr": 0.01}  # fmt: skip
    runs = loc.run_location(spec, synthetic_manifest)
    assert list(runs.columns) == loc.RESULT_COLUMNS
    assert runs["border"].tolist() == [0, 8]
    assert runs["first_conv_size"].diff().iloc[1] == 8
    frozen = loc.run_location({**spec, "init": "random-frozen"}, synthetic_manifest)
    assert frozen["accuracy"].between(0, 100).all() and (frozen["epochs"] == 0).all()
    from padpos.stages import build_table

    table = build_table("fconv_location", pd.concat([runs, frozen]))
    assert list(table.columns) == ["padding", "init", "border", "accuracy_mean", "accuracy_std", "n",
                                   "accuracy_ci95", "n_failed", "n_unconverged", "unconverged_seeds"]
    assert len(table) == 4


def test_run_location_sweeps_every_seed_in_one_job(synthetic_manifest):
    # one job per padding x init: each seed's rows equal the seed run alone
    spec = {"padding": "zeros", "init": "random-frozen", "borders": [0, 8],
            "num_train": 4, "num_test": 4, "width": 4}  # fmt: skip
    both = loc.run_location({**spec, "seeds": [2, 5]}, synthetic_manifest)
    assert both[["seed", "border"]].values.tolist() == [[2, 0], [2, 8], [5, 0], [5, 8]]
    timing = ["seconds"]
    for seed in (2, 5):
        alone = loc.run_location({**spec, "seed": seed}, synthetic_manifest)
        pd.testing.assert_frame_equal(
            both[both.seed == seed].drop(columns=timing).reset_index(drop=True),
            alone.drop(columns=timing),
        )
    with pytest.raises(ValueError, match="not both"):
        loc.spec_with_defaults({**spec, "seed": 1, "seeds": [1]})
    with pytest.raises(ValueError, match="distinct"):
        loc.spec_with_defaults({**spec, "seeds": [1, 1]})


@pytest.mark.parametrize("init", ["scratch", "random-frozen"])
def test_a_sweep_shares_one_untrained_net_between_borders(synthetic_manifest, init):
    # every border starts from a copy of the one untrained net: the same rows as a
    # net built for each border, and the shared net is left untouched
    data = loc.location_data(synthetic_manifest, 4, 4)
    cfg = {"epochs": 1, "width": 4, "batch_size": 4, "lr": 0.01}
    initial = loc.initial_net("zeros", 3, 4)
    untouched = {k: v.clone() for k, v in initial.state_dict().items()}
    timing = {"seconds"}
    for border in (8, 0):
        shared = loc.run_border("zeros", init, 3, border, data, cfg, initial=initial)
        fresh = loc.run_border("zeros", init, 3, border, data, cfg)
        assert {k: v for k, v in shared.items() if k not in timing} == {
            k: v for k, v in fresh.items() if k not in timing}  # fmt: skip
    assert initial.state_dict().keys() == untouched.keys()
    assert all(torch.equal(v, untouched[k]) for k, v in initial.state_dict().items())
    assert all(p.requires_grad for p in initial.parameters())
    assert loc.input_size_after_border(initial) == loc.input_size_after_border(
        loc.location_resnet18("zeros", width=4))  # fmt: skip


def test_location_flags_scratch_runs_that_did_not_learn_or_collapsed():
    from padpos.stats import FailedRunWarning

    runs = pd.DataFrame({
        "padding": "full", "seed": 0, "border": [0, 16, 32, 64],
        "init": ["scratch", "scratch", "scratch", "random-frozen"],
        "train_accuracy": [100.0, 52.0, 100.0, 50.0], "predicted_classes": [2, 2, 1, 1],
    })  # fmt: skip
    with pytest.warns(FailedRunWarning) as caught:
        flagged = loc.flag_failed(runs, min_accuracy=60.0)
    assert flagged["failed"].tolist() == [False, True, True, False]
    text = " ".join(str(w.message) for w in caught)
    assert "full/scratch/seed0/B=16" in text and "full/scratch/seed0/B=32" in text
    assert "one class" in text and "B=64" not in text


def test_frozen_init_trains_only_the_head(synthetic_manifest):
    data = loc.location_data(synthetic_manifest, 4, 2)
    torch.manual_seed(0)
    net = loc.location_resnet18("zeros", width=4)
    before = {k: v.clone() for k, v in net.state_dict().items() if "weight" in k and "fc" not in k}
    model, _ = loc.train_frozen_head(net, *data["train"], {"batch_size": 4})
    after = model.backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert model(data["test"][0]).shape == (4, 2)


@pytest.mark.parametrize("padding", ["zeros", "full"])
def test_frozen_train_logits_are_the_whole_nets_own(synthetic_manifest, padding):
    # the training canvases' logits come from the features the head was fitted on:
    # bit for bit the eval-mode net's own, over more than one predict batch (64)
    sources = loc.source_images(synthetic_manifest, "train", 12).repeat(6, 1, 1, 1)
    X, y = loc.paste_on_canvas(sources)
    torch.manual_seed(0)
    net = loc.set_border(loc.location_resnet18(padding, width=4), 8)
    model, train_logits = loc.train_frozen_head(net, X, y, {"batch_size": 4})
    assert len(X) > 64 and train_logits.shape == (len(X), 2)
    assert torch.equal(train_logits, loc.predict(model, X))


# ---------------------------------------------------------------- configuration
def test_schema_defaults_are_the_paper_scale():
    from padpos.workflow.config import validate_config

    cfg = validate_config({})["fconv"]
    red = cfg["redgreen"]
    assert red["sizes"] == rg.PAPER["sizes"]
    assert {k: red[k] for k in ("max_epochs", "patience", "batch_size", "seeds")} == {
        k: rg.PAPER[k] for k in ("max_epochs", "patience", "batch_size", "seeds")
    }
    assert red["variants"] == list(rg.VARIANTS)
    assert rg.describe_scale(red) == "paper scale"
    location = cfg["location"]
    assert {k: location[k] for k in loc.PAPER} == loc.PAPER
    assert loc.describe_scale(location) == "paper scale"
    assert location["inits"] == list(loc.INITS)


def test_bad_variant_in_config_names_the_key():
    from padpos.workflow.config import ConfigError, validate_config

    with pytest.raises(ConfigError, match="fconv.redgreen.variants"):
        validate_config({"fconv": {"redgreen": {"variants": ["circular_pad3"]}}})


# ---------------------------------------------------------------- figures
def test_redgreen_figure_excludes_failed_seeds_and_draws_no_zero_whisker():
    from padpos.stages.fconv_redgreen.figures import plot_redgreen

    rows = [{"padding": p, "seed": s, "test_set": t, "accuracy": a, "failed": f}
            for p, s, a, f in (("zeros", 0, 90.0, False), ("zeros", 1, 50.0, True),
                               ("full", 0, 70.0, False))
            for t in ("similar", "dissimilar")]  # fmt: skip
    fig = plot_redgreen(pd.DataFrame(rows))
    ax = fig.axes[0]
    heights = [round(b.get_height(), 1) for b in ax.patches]
    assert heights[:2] == [90.0, 70.0]  # the failed zeros seed is out of the bar
    assert "failed seed (excluded)" in ax.get_legend_handles_labels()[1]
    assert any(t.get_text() == "1 seed" for t in ax.texts)
    assert "1 failed seed(s) excluded" in fig._suptitle.get_text()
    from matplotlib.container import ErrorbarContainer

    segments = [seg for c in ax.containers if isinstance(c, ErrorbarContainer)
                for cols in c.lines[2] for seg in cols.get_segments()]  # fmt: skip
    assert all(seg.size == 0 or np.isnan(seg).any() for seg in segments)  # n = 1: no whisker at all


def test_redgreen_figure_with_every_seed_of_a_variant_failed():
    """A conv type none of whose seeds learned the task (the reduced study's circular)
    has no bar, its seeds drawn as crosses, and says "0 seed"."""
    from padpos.stages.fconv_redgreen.figures import plot_redgreen

    rows = [{"padding": p, "seed": s, "test_set": t, "accuracy": a, "failed": f}
            for p, s, a, f in (("zeros", 0, 90.0, False), ("zeros", 1, 92.0, False),
                               ("circular", 0, 58.0, True), ("circular", 1, 61.0, True))
            for t in ("similar", "dissimilar")]  # fmt: skip
    fig = plot_redgreen(pd.DataFrame(rows))
    ax = fig.axes[0]
    assert any(t.get_text() == "0 seed" for t in ax.texts)
    assert "2 failed seed(s) excluded" in fig._suptitle.get_text()


def test_location_figure_marks_failed_runs():
    from padpos.stages.fconv_location.figures import plot_location

    rows = [{"padding": "full", "init": "scratch", "seed": s, "border": b, "accuracy": a,
             "failed": f} for s, b, a, f in ((0, 0, 100.0, False), (0, 16, 50.0, True),
                                             (1, 0, 98.0, False), (1, 16, 96.0, False))]  # fmt: skip
    fig = plot_location(pd.DataFrame(rows))
    line = fig.axes[0].get_lines()[0]
    assert list(line.get_ydata()) == [99.0, 96.0]  # mean of the passing runs only
    assert "1 failed run(s) excluded" in fig._suptitle.get_text()


def test_the_commands_log_summary_leaves_failed_runs_out_of_the_mean():
    from padpos.stats import passed_means

    runs = pd.DataFrame({"seed": [0, 0, 1, 1, 2, 2], "test_set": ["similar", "dissimilar"] * 3,
                         "accuracy": [50.0, 50.0, 70.0, 60.0, 80.0, 90.0],
                         "failed": [True, True, False, False, False, False]})  # fmt: skip
    text = passed_means(runs, "test_set", run=["seed"])
    assert text == "{'dissimilar': 75.0, 'similar': 75.0} (1 of 3 runs flagged failed, not averaged in)"
    location = pd.DataFrame({"seed": [0, 0, 1, 1], "border": [0, 16, 0, 16],
                             "accuracy": [100.0, 50.0, 90.0, 70.0], "failed": [False, True, False, False]})  # fmt: skip
    assert passed_means(location, "border", run=["seed", "border"]).endswith("(1 of 4 runs flagged failed, not averaged in)")


def test_a_red_green_seed_has_converged_when_it_stopped_early_or_plateaued():
    assert rg.has_plateaued([0.6, 0.5, 0.4, 0.41, 0.42, 0.43], patience=3)  # early stopping
    assert not rg.has_plateaued([0.6, 0.5, 0.4, 0.3, 0.2], patience=3)  # still learning at the limit
    # the epoch limit ended it on a noisy plateau: the best improved by < 1 % in 3 epochs
    assert rg.has_plateaued([0.6, 0.3, 0.250, 0.251, 0.2499, 0.2498], patience=3)
    assert not rg.has_plateaued([0.6, 0.5], patience=3) and not rg.has_plateaued([], patience=3)


def test_a_red_green_seed_whose_decisions_stopped_changing_has_converged():
    # V-Conv at the paper's scale: 100 % on the validation set for many epochs while the
    # cross-entropy still falls by > 1 % per epoch (its logits keep growing)
    losses = [0.5, 0.1, 0.05, 0.02, 0.01, 0.005, 0.003]
    assert not rg.has_plateaued(losses, patience=3)  # by the loss alone: still learning
    assert rg.has_plateaued(losses, patience=3, val_accuracies=[80, 99, 100, 100, 100, 100, 100])
    # still learning: a new best accuracy in the last `patience` epochs
    assert not rg.has_plateaued(losses, patience=3, val_accuracies=[60, 70, 80, 85, 88, 90, 91])
    assert not rg.has_plateaued(losses, patience=3, val_accuracies=[60, 70, 80, 80, 80, 80, 80.1])


def test_a_nan_loss_in_the_first_epoch_is_never_the_best():
    nan = float("nan")
    # diverged first epoch, then still learning at the limit: not converged (a NaN best
    # at epoch 1 read as "no improvement for 4 epochs" before)
    assert not rg.has_plateaued([nan, 0.6, 0.5, 0.4, 0.3], patience=3)
    assert rg.has_plateaued([nan, 0.6, 0.4, 0.41, 0.42, 0.43], patience=3)  # early stopping after it
    assert not rg.has_plateaued([nan, nan, nan, nan], patience=3)  # never a finite loss
    # a NaN accuracy in the early epochs is no best either
    losses = [nan, 0.1, 0.05, 0.02, 0.01, 0.005, 0.003]
    assert rg.has_plateaued(losses, patience=3, val_accuracies=[nan, 99, 100, 100, 100, 100, 100])
    assert not rg.has_plateaued(losses, patience=3, val_accuracies=[nan, 70, 80, 85, 88, 90, 91])


def test_the_convergence_rule_takes_its_accuracies_by_keyword():
    with pytest.raises(TypeError):
        rg.has_plateaued([0.5, 0.1, 0.05, 0.02, 0.01], 3, [80, 99, 100, 100, 100])


def test_fit_decides_convergence_from_every_epochs_loss_and_accuracy(monkeypatch):
    seen = []
    real = rg.has_plateaued

    def spy(losses, patience, *, val_accuracies=None, **kw):
        seen.append((list(losses), None if val_accuracies is None else list(val_accuracies)))
        return real(losses, patience, val_accuracies=val_accuracies, **kw)

    monkeypatch.setattr(rg, "has_plateaued", spy)
    data = _box_tensors(1, train=60, val=40, test=20)
    torch.manual_seed(0)
    history = rg.fit(rg.RedGreenNet("zeros"), data, max_epochs=3, patience=1, batch_size=20)
    (losses, accuracies), = seen
    assert len(losses) == len(accuracies) == history["epochs_run"]
    assert all(0 <= a <= 100 for a in accuracies)
