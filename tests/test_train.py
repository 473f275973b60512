"""Training: outputs, determinism on CPU, resume after a kill, snapshots, BN re-estimation."""

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import torch

import padpos.stages.train.training as train_mod
from padpos.models import build_model, load_checkpoint
from padpos.runtime import recalibrate_batchnorm
from padpos.stages.train.training import train_model
from tiny import TRAIN_SPEC as SPEC
from tiny import photo_tree, synthetic_data


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return synthetic_data(tmp_path_factory.mktemp("data"))


def run(tmp_path, manifest, name, **changes):
    out, resume = tmp_path / name / "out", tmp_path / name / "resume"
    prov = train_model({**SPEC, **changes}, manifest, out, resume, threads=1)
    return out, resume, prov


def test_outputs_and_metrics(tmp_path, manifest):
    out, resume, prov = run(tmp_path, manifest, "a")
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics["epoch"]) == [0, 1, 2]
    assert metrics["test_acc"].between(0, 100).all()
    for name in ["model.pt", "provenance.json", "snapshot_e0.pt", "snapshot_e1.pt"]:
        assert (out / name).is_file()
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["spec"]["padding"] == "zeros" and provenance["device"].startswith("cpu")
    assert "torch" in provenance["versions"] and provenance["wall_time_s"] > 0
    # the code that ran: this checkout's commit and whether its tracked files differ from it
    git = lambda *a: subprocess.run(["git", "-C", str(Path(train_mod.__file__).parent), *a],
                                    capture_output=True, text=True)  # fmt: skip
    head = git("rev-parse", "HEAD") if shutil.which("git") else None
    if head is not None and head.returncode == 0:
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").stdout.strip())
        assert provenance["code"] == {**provenance["code"], "git_commit": head.stdout.strip(), "git_dirty": dirty}
    else:  # not a git checkout (an installed package): the source hash stands in
        assert provenance["code"]["git_commit"] is None
    assert len(provenance["code"]["source_sha256"]) == 64 and len(provenance["packages_sha256"]) == 64
    assert not resume.exists()  # the resume state is removed once the job is done
    _, meta0 = load_checkpoint(out / "snapshot_e0.pt")
    _, meta_final = load_checkpoint(out / "model.pt")
    assert meta0["epoch"] == 0 and meta0["bn_estimated"] is False
    assert meta_final["epoch"] == 2 and meta_final["bn_estimated"] is True


def _weights(path):
    return torch.load(path, weights_only=False)["state_dict"]


def test_deterministic_for_a_seed_and_different_across_seeds(tmp_path, manifest):
    a, _, _ = run(tmp_path, manifest, "a")
    b, _, _ = run(tmp_path, manifest, "b")
    c, _, _ = run(tmp_path, manifest, "c", seed=1)
    wa, wb, wc = _weights(a / "model.pt"), _weights(b / "model.pt"), _weights(c / "model.pt")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not torch.equal(wa["conv1.weight"], wc["conv1.weight"])
    pd.testing.assert_frame_equal(pd.read_csv(a / "metrics.csv"), pd.read_csv(b / "metrics.csv"))


def test_resume_after_a_kill_gives_the_uninterrupted_result(tmp_path, manifest, monkeypatch):
    full, _, _ = run(tmp_path, manifest, "full")

    real_epoch = train_mod.train_one_epoch
    calls = {"n": 0}

    def killed_in_epoch_2(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("simulated kill")
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(train_mod, "train_one_epoch", killed_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, manifest, "killed")
    out = tmp_path / "killed" / "out"
    assert not (out / "model.pt").exists()  # nothing declared is half-written
    assert (tmp_path / "killed" / "resume" / "last.pt").is_file()
    # the epochs so far, where a watcher reads them: the rows of the full run, flags aside
    full_metrics = pd.read_csv(full / "metrics.csv")
    live = pd.read_csv(tmp_path / "killed" / "resume" / "metrics.csv")
    pd.testing.assert_frame_equal(live, full_metrics.drop(columns=["failed", "converged"]).iloc[:2])

    monkeypatch.setattr(train_mod, "train_one_epoch", real_epoch)
    out, _, prov = run(tmp_path, manifest, "killed")
    assert prov["resumed_from_epoch"] == 1
    pd.testing.assert_frame_equal(pd.read_csv(out / "metrics.csv"), full_metrics)
    wf, wr = _weights(full / "model.pt"), _weights(out / "model.pt")
    assert all(torch.equal(wf[k], wr[k]) for k in wf)
    assert torch.equal(_weights(full / "snapshot_e0.pt")["conv1.weight"], _weights(out / "snapshot_e0.pt")["conv1.weight"])


@pytest.fixture(scope="module")
def imagefolder(tmp_path_factory):
    """ImageFolder data (photograph crops, 3 classes, 32 px): the DataLoader path."""
    root = photo_tree(tmp_path_factory.mktemp("tree"), num_train=4, num_test=2)
    return synthetic_data(tmp_path_factory.mktemp("tree_data"), dataset="imagefolder", path=str(root),
                          image_size=32, num_train=None, num_test=None)  # fmt: skip


def test_imagefolder_resume_with_workers_gives_the_uninterrupted_result(tmp_path, imagefolder, monkeypatch):
    """Seeded crops (padpos.data.augment): a run killed in epoch 2 and resumed with two
    persistent workers trains the same weights as an uninterrupted run without workers."""
    changes = dict(batch_size=5, augment=True)
    full, _, _ = run(tmp_path, imagefolder, "full", num_workers=0, **changes)
    real_epoch = train_mod.train_one_epoch
    calls = {"n": 0}

    def killed_in_epoch_2(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("simulated kill")
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(train_mod, "train_one_epoch", killed_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, imagefolder, "killed", num_workers=2, **changes)
    monkeypatch.setattr(train_mod, "train_one_epoch", real_epoch)
    out, _, prov = run(tmp_path, imagefolder, "killed", num_workers=2, **changes)
    assert prov["resumed_from_epoch"] == 1
    wf, wr = _weights(full / "model.pt"), _weights(out / "model.pt")
    assert all(torch.equal(wf[k], wr[k]) for k in wf)
    pd.testing.assert_frame_equal(pd.read_csv(full / "metrics.csv"), pd.read_csv(out / "metrics.csv"))
    # the crops matter: without them the same run trains other weights
    plain, _, _ = run(tmp_path, imagefolder, "plain", num_workers=0, batch_size=5, augment=False)
    assert not torch.equal(_weights(plain / "model.pt")["conv1.weight"], wf["conv1.weight"])


def test_stale_resume_state_is_ignored_when_the_spec_changes(tmp_path, manifest, monkeypatch):
    real_epoch = train_mod.train_one_epoch

    def kill(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_mod, "train_one_epoch", kill)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, manifest, "x")
    monkeypatch.setattr(train_mod, "train_one_epoch", real_epoch)
    _, _, prov = run(tmp_path, manifest, "x", lr=0.01)
    assert prov["resumed_from_epoch"] is None


def test_a_run_below_the_quality_floor_is_flagged_and_named_in_a_warning(tmp_path, manifest):
    # a floor above what any run reaches makes this run fail on purpose
    with pytest.warns(train_mod.FailedRunWarning, match="FAILED RUN small_resnet/zeros/seed0"):
        out, _, prov = run(tmp_path, manifest, "failed", min_test_acc=100.0)
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics["failed"].dtype == bool and metrics["failed"].all()
    assert prov["failed"] is True and prov["min_test_acc"] == 100.0
    assert json.loads((out / "provenance.json").read_text())["failed"] is True
    assert (out / "model.pt").is_file()  # flagged, not an error: the tables count it
    from padpos.models import load_checkpoint

    assert load_checkpoint(out / "model.pt")[1]["failed"] is True  # travels to PPP, PosENet, canvas

    passed, _, prov = run(tmp_path, manifest, "passed", min_test_acc=0.0, seed=1)
    assert not pd.read_csv(passed / "metrics.csv")["failed"].any() and prov["failed"] is False

    # the training table counts the failed run in n_failed and leaves it out of the mean
    from padpos.io import read_runs
    from padpos.stages import build_table

    table = build_table("training", read_runs([out / "metrics.csv", passed / "metrics.csv"]))
    assert table[["n", "n_failed"]].values.tolist() == [[1, 1]]
    assert table["test_acc_mean"].item() == prov["final_test_acc"]
    assert pd.isna(table["test_acc_std"].item()) and pd.isna(table["test_acc_ci95"].item())


def test_quality_floor_defaults_to_twice_chance_and_nan_fails():
    assert train_mod.quality_floor(None, 10) == 20.0
    assert train_mod.quality_floor(None, 2) == 100.0
    assert train_mod.quality_floor(55, 10) == 55.0
    assert train_mod.is_failed(19.9, 20.0) and not train_mod.is_failed(20.0, 20.0)
    assert train_mod.is_failed(float("nan"), 20.0)


def test_recalibrate_batchnorm_estimates_the_first_layer_statistics():
    torch.manual_seed(0)
    model = build_model("small_resnet", "zeros", 10, width=4)
    x = torch.randn(64, 3, 16, 16) * 2 + 1
    recalibrate_batchnorm(model, x, batch_size=16)
    assert not model.training
    with torch.no_grad():
        pre = model.conv1(x)
    expected_mean = pre.mean(dim=(0, 2, 3))
    assert torch.allclose(model.bn1.running_mean, expected_mean, atol=1e-5)
    assert model.bn1.momentum == 0.1  # restored


def test_training_figure_leaves_a_failed_run_out_of_the_mean_and_marks_it():
    from padpos.stages.train.figures import plot_training

    accs = {0: [10.0, 60.0, 90.0], 1: [10.0, 11.0, 12.0]}
    rows = [
        {"arch": "small_resnet", "padding": "zeros", "seed": seed, "epoch": e, "test_acc": a,
         "failed": seed == 1}
        for seed, curve in accs.items() for e, a in enumerate(curve)
    ]  # fmt: skip
    fig = plot_training(pd.DataFrame(rows))
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert list(lines["zeros (n=1)"].get_ydata()) == accs[0]  # the mean of the passing seed only
    assert list(lines["zeros seed 1: FAILED (excluded)"].get_ydata()) == accs[1]
    assert "1 failed run(s)" in fig._suptitle.get_text()


def test_a_figure_command_draws_once_and_saves_png_and_a_reproducible_pdf(tmp_path, monkeypatch):
    import padpos.stages.train.figures as figures
    from padpos.cli import main

    rows = [{"arch": "small_resnet", "padding": "zeros", "seed": 0, "epoch": e, "test_acc": 10.0 * e,
             "failed": False} for e in range(3)]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "metrics.csv", index=False)
    draws = []
    real_plot = figures.plot_training
    monkeypatch.setattr(figures, "plot_training", lambda *a: draws.append(1) or real_plot(*a))
    outputs = [tmp_path / "training.png", tmp_path / "training.pdf"]
    main(["plot-training", "--metrics", str(tmp_path / "metrics.csv"), "--output", *map(str, outputs)])
    assert len(draws) == 1
    assert outputs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and outputs[1].read_bytes()[:5] == b"%PDF-"
    first = outputs[1].read_bytes()
    main(["plot-training", "--metrics", str(tmp_path / "metrics.csv"), "--output", str(outputs[1])])
    assert outputs[1].read_bytes() == first  # no creation date: the same figure, the same bytes


# ---------------------------------------------------------------- device, autocast, syncs
def test_select_device_prefers_cuda_when_present(monkeypatch):
    from padpos import runtime

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.select_device() == torch.device("cpu")
    assert train_mod.select_device is runtime.select_device  # training uses the one selection
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.select_device() == torch.device("cuda")


@pytest.mark.filterwarnings("ignore:CUDA is not available")
def test_autocast_is_off_on_the_cpu_and_bf16_on_cuda():
    cpu = torch.device("cpu")
    model = build_model("small_resnet", "zeros", 3, width=4)
    with train_mod._autocast(cpu, amp=True):
        assert not torch.is_autocast_enabled("cpu")
        assert model(torch.randn(2, 3, 8, 8)).dtype == torch.float32
    cuda_autocast = train_mod._autocast(torch.device("cuda"), amp=True)
    assert cuda_autocast.device == "cuda" and cuda_autocast.fast_dtype == torch.bfloat16
    assert not train_mod._autocast(torch.device("cuda"), amp=False)._enabled
    assert train_mod._layout(torch.randn(2, 3, 4, 4), cpu).is_contiguous()  # channels_last: GPU only


def _batches(n=160, batch_size=32, seed=0, **kw):
    gen = torch.Generator().manual_seed(seed)
    X, y = torch.randn(n, 3, 8, 8, generator=gen), torch.randint(0, 3, (n,), generator=gen)
    return train_mod.TensorBatches(
        X, y, batch_size, torch.device("cpu"), shuffle=True, augment=True,
        generator=torch.Generator().manual_seed(seed), **kw,
    )


def _step_setup(seed=0):
    torch.manual_seed(seed)
    model = build_model("small_resnet", "zeros", 3, width=4)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=100)
    return model, opt, sched


class _Progress:
    def update(self, n):
        pass

    def set_postfix(self, **kw):
        pass


def _old_train_one_epoch(model, batches, optimizer, scheduler):
    """The loop before the device-side sums: two host reads per step (the reference)."""
    model.train()
    loss_sum, correct, n = 0.0, 0, 0
    for x, y in batches:
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        n += len(y)
    return loss_sum / n, 100.0 * correct / n


def test_training_epoch_gives_the_old_loops_numbers_on_cpu():
    cpu = torch.device("cpu")
    model, opt, sched = _step_setup()
    new = [train_mod.train_one_epoch(model, _batches(seed=s), opt, sched, cpu, True, _Progress())
           for s in (0, 1)]
    ref_model, ref_opt, ref_sched = _step_setup()
    old = [_old_train_one_epoch(ref_model, _batches(seed=s), ref_opt, ref_sched) for s in (0, 1)]
    # one (loss, accuracy) per epoch, compared number by number: pytest.approx takes flat
    # sequences only (pytest 9 refuses a list of tuples)
    assert len(new) == len(old) == 2
    for (loss, acc), (ref_loss, ref_acc) in zip(new, old):
        assert [loss, acc] == pytest.approx([ref_loss, ref_acc], rel=1e-12, abs=1e-12)
    for (k, a), b in zip(model.state_dict().items(), ref_model.state_dict().values()):
        assert torch.equal(a, b), k


def test_training_step_reads_nothing_back_to_the_host_per_step(monkeypatch):
    calls = []
    for name in ("item", "cpu", "tolist", "__float__", "__int__", "__bool__", "numpy"):
        real = getattr(torch.Tensor, name)

        def counting(self, *a, _real=real, _name=name, **k):
            calls.append(_name)
            return _real(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counting)
    model, opt, sched = _step_setup()
    batches = _batches(n=192)  # 6 steps: the old loop made 12 reads
    train_mod.train_one_epoch(model, batches, opt, sched, torch.device("cpu"), True, _Progress())
    assert len(batches) == 6
    assert calls.count("item") == 2 and len(calls) == 2, calls  # loss and accuracy, once


def test_host_resident_batches_equal_device_resident_ones():
    on = list(_batches(on_device=True))
    off = list(_batches(on_device=False))
    assert len(on) == len(off) == 5
    for (xa, ya), (xb, yb) in zip(on, off):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert train_mod.fits_on_device(10**15, "cpu")


def test_evaluate_matches_a_direct_computation():
    model, _, _ = _step_setup()
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(100, 3, 8, 8, generator=gen), torch.randint(0, 3, (100,), generator=gen)
    batches = train_mod.TensorBatches(X, y, 32, "cpu")  # in order, no flips: iterable twice
    cpu = torch.device("cpu")
    loss, acc = train_mod.evaluate_classifier(model, batches, cpu, amp=True)
    model.eval()
    with torch.no_grad():
        xs, ys = zip(*list(batches))
        logits = model(torch.cat(xs))
    y = torch.cat(ys)
    assert loss == pytest.approx(torch.nn.functional.cross_entropy(logits, y).item(), rel=1e-6)
    assert acc == pytest.approx(100.0 * (logits.argmax(1) == y).double().mean().item())


def test_the_one_cycle_schedule_runs_for_any_number_of_steps():
    """A run of exactly 5 steps (e.g. 36 images in batches of 8, one epoch) made OneCycleLR
    divide by a zero-length warm-up; every other length keeps the 20 % warm-up."""
    for steps in range(1, 13):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps,
                                                    pct_start=train_mod.warmup_fraction(steps))  # fmt: skip
        for _ in range(steps):
            opt.step()
            sched.step()
        assert train_mod.warmup_fraction(steps) == (0.4 if steps == 5 else 0.2)


def test_speed_only_keys_leave_the_resume_hash_alone():
    spec, launch = train_mod.split_settings({"arch": "small_resnet", "padding": "zeros", "seed": 0}, None)
    base = train_mod.spec_hash(spec, "sha")
    assert train_mod.spec_hash({**spec, "compile": True, "num_workers": 4}, "sha") == base
    assert train_mod.spec_hash({**spec, "tensorboard": True, "nproc": 2}, "sha") == base
    assert train_mod.spec_hash({**spec, "lr": 0.01}, "sha") != base
    assert launch == {"num_workers": 0, "compile": False, "tensorboard": False, "nproc": 1}
    # launch settings given inside the spec (one dict, as the tests pass it) leave the spec
    spec2, launch2 = train_mod.split_settings({**spec, "compile": True}, {"nproc": 2})
    assert spec2 == spec and launch2 == {**launch, "compile": True, "nproc": 2}
    with pytest.raises(ValueError, match="unknown train launch settings"):
        train_mod.split_settings(spec, {"nprocs": 2})


def test_plateau_rule_flags_a_run_still_learning_at_its_last_epoch():
    history = [{"test_acc": 10.0}, {"test_acc": 80.0}, {"test_acc": 85.0}]
    assert train_mod.last_epoch_gain(history) == 5.0
    assert not train_mod.has_converged(history, plateau_points=1.0)
    assert train_mod.has_converged(history, plateau_points=6.0)
    history[-1]["test_acc"] = 79.5  # a last epoch that lost accuracy has stopped learning
    assert train_mod.has_converged(history, plateau_points=1.0)
    # one trained epoch gives no plateau to read: not converged
    assert not train_mod.has_converged(history[:2], plateau_points=100.0)


def test_the_live_metrics_are_rewritten_after_every_epoch(tmp_path, manifest, monkeypatch):
    seen = []
    real_save = train_mod.write_live_metrics

    def spy(resume_dir, history):
        real_save(resume_dir, history)
        seen.append(list(pd.read_csv(resume_dir / "metrics.csv")["epoch"]))

    monkeypatch.setattr(train_mod, "write_live_metrics", spy)
    run(tmp_path, manifest, "live")
    assert seen == [[0], [0, 1], [0, 1, 2]]


def test_tensorboard_without_the_package_is_an_error_naming_the_extra(tmp_path, manifest, monkeypatch):
    import sys

    from padpos.io import ReportedError

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    with pytest.raises(ReportedError, match=r"padpos\[tensorboard\].*train.tensorboard: false"):
        run(tmp_path, manifest, "tb", tensorboard=True)


def _tensorboard_scalars(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_tensorboard_scalars_are_the_metrics_also_after_a_resume(tmp_path, manifest, monkeypatch):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    full, _, _ = run(tmp_path, manifest, "full", tensorboard=True)
    metrics = pd.read_csv(full / "metrics.csv")
    scalars = _tensorboard_scalars(full / "tensorboard")
    steps, values = zip(*scalars["accuracy/test"])
    assert list(steps) == list(metrics["epoch"]) and values == pytest.approx(list(metrics["test_acc"]))
    assert [step for step, _ in scalars["loss/train"]] == [1, 2]  # epoch 0 has no training loss

    real_save = train_mod.save_torch

    def killed_saving_the_state_of_epoch_2(path, obj):
        if path.name == "last.pt" and obj["epoch"] == 2:
            raise KeyboardInterrupt("simulated kill")  # epoch 2 is logged, its state not saved
        real_save(path, obj)

    monkeypatch.setattr(train_mod, "save_torch", killed_saving_the_state_of_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, manifest, "killed", tensorboard=True)
    monkeypatch.setattr(train_mod, "save_torch", real_save)
    out, _, prov = run(tmp_path, manifest, "killed", tensorboard=True)
    assert prov["resumed_from_epoch"] == 1
    # one value per epoch: the resumed attempt purged the first one's epoch 2
    assert _tensorboard_scalars(out / "tensorboard")["accuracy/test"] == scalars["accuracy/test"]
    assert len(list((out / "tensorboard").glob("events.out.tfevents.*"))) == 2
    # a fresh start (epoch 0) replaces an earlier attempt's event files
    run(tmp_path, manifest, "killed", tensorboard=True)
    assert len(list((out / "tensorboard").glob("events.out.tfevents.*"))) == 1
    assert _tensorboard_scalars(out / "tensorboard")["accuracy/test"] == scalars["accuracy/test"]


# ---------------------------------------------------------------- preemption
def test_a_signal_mid_epoch_saves_the_step_and_the_resumed_run_ends_with_the_same_weights(
    tmp_path, manifest, monkeypatch
):
    """SIGTERM (a time limit) or SIGUSR1 (sbatch --signal) in the middle of epoch 2: the
    run saves the state after the step it is in and stops; the same call resumes there and
    trains the weights of an uninterrupted run, bit for bit (CPU)."""
    import os
    import signal

    from padpos.stages.train.preemption import Preempted

    full, _, _ = run(tmp_path, manifest, "full")
    for signum in (signal.SIGTERM, signal.SIGUSR1):
        name = f"stopped{signum}"
        real_step = torch.optim.SGD.step
        steps = {"n": 0}

        def step_then_signal(self, *a, _real=real_step, **k):
            out = _real(self, *a, **k)
            steps["n"] += 1
            if steps["n"] == 3 + 2:  # 3 steps per epoch: the 2nd step of epoch 2
                os.kill(os.getpid(), signum)  # a real signal, to the real handler
            return out

        monkeypatch.setattr(torch.optim.SGD, "step", step_then_signal)
        with pytest.raises(Preempted, match=f"{signal.Signals(signum).name} after step 2 of epoch 2"):
            run(tmp_path, manifest, name)
        monkeypatch.setattr(torch.optim.SGD, "step", real_step)
        state = torch.load(tmp_path / name / "resume" / "last.pt", weights_only=False)
        assert (state["epoch"], state["step"]) == (1, 2)  # epoch 1 finished, 2 steps of epoch 2
        assert not (tmp_path / name / "out" / "model.pt").exists()
        assert steps["n"] == 5 and signal.getsignal(signum) is signal.SIG_DFL  # handlers restored
        out, _, prov = run(tmp_path, manifest, name)
        assert prov["resumed_from_epoch"] == 1
        pd.testing.assert_frame_equal(pd.read_csv(out / "metrics.csv"), pd.read_csv(full / "metrics.csv"))
        wf, wr = _weights(full / "model.pt"), _weights(out / "model.pt")
        assert all(torch.equal(wf[k], wr[k]) for k in wf)


def test_the_train_command_exits_with_the_preemption_status_after_saving(tmp_path, manifest):
    """The command line a SLURM job runs: SIGTERM mid-run -> exit status 143 (a failure
    Snakemake retries) with the state saved."""
    import signal
    import sys
    import time

    out, resume = tmp_path / "out", tmp_path / "resume"
    spec = json.dumps({**SPEC, "epochs": 40})
    cmd = [sys.executable, "-m", "padpos", "train", "--spec", spec, "--data", str(manifest),
           "--out-dir", str(out), "--resume-dir", str(resume)]  # fmt: skip
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    # epoch 0's state: the run is training, its handlers installed (a SIGTERM before that,
    # e.g. while torch imports on a loaded machine, kills it with the default action)
    deadline = time.time() + 900
    while not (resume / "last.pt").is_file() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert (resume / "last.pt").is_file(), "the run saved no state (epoch 0) within 900 s"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert "stopped by signal SIGTERM" in err
    state = torch.load(resume / "last.pt", weights_only=False)
    assert state["epoch"] < 40 and not (out / "model.pt").exists()


# ---------------------------------------------------------------- data-parallel training (CPU, gloo)
# a 2-process CPU run normalises each BatchNorm by its half of the batch (torch's SyncBatchNorm
# needs GPUs), so it is not bitwise a 1-process run. Measured here (tests/tiny.py, 2 epochs):
# training losses 0.3 % apart, held-out losses 0.1 %, held-out accuracy equal (48 images);
# the tolerance leaves room for other platforms' rounding (docs/cluster.md)
DDP_ACC_POINTS, DDP_LOSS_REL = 10.0, 0.02


def _train_cli(tmp_path, manifest, name, nproc, **changes):
    import sys

    out, resume = tmp_path / name / "out", tmp_path / name / "resume"
    cmd = [sys.executable, "-m", "padpos", "train", "--spec", json.dumps({**SPEC, **changes}),
           "--data", str(manifest), "--out-dir", str(out), "--resume-dir", str(resume),
           "--launch", json.dumps({"nproc": nproc}), "--threads", str(nproc)]  # fmt: skip
    return cmd, out, resume


def test_two_gloo_processes_train_like_one_process_with_the_same_global_batch(tmp_path, manifest):
    one, _, _ = run(tmp_path, manifest, "one")
    cmd, two, _ = _train_cli(tmp_path, manifest, "two", 2)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = pd.read_csv(one / "metrics.csv"), pd.read_csv(two / "metrics.csv")
    assert list(a["epoch"]) == list(b["epoch"]) and list(a["lr"]) == pytest.approx(list(b["lr"]))
    # epoch 0 (the initialisation, eval mode): the same model, the same numbers
    assert b["test_loss"][0] == pytest.approx(a["test_loss"][0], rel=1e-6)
    assert (b["test_acc"] - a["test_acc"]).abs().max() <= DDP_ACC_POINTS, (a, b)
    assert list(b["train_loss"][1:]) == pytest.approx(list(a["train_loss"][1:]), rel=DDP_LOSS_REL)
    assert list(b["test_loss"]) == pytest.approx(list(a["test_loss"]), rel=DDP_LOSS_REL)
    prov = json.loads((two / "provenance.json").read_text())
    assert prov["world_size"] == 2 and prov["launch"]["nproc"] == 2
    assert not (tmp_path / "two" / "resume").exists()  # rank 0 cleaned up after writing


def test_a_killed_two_process_run_resumes_and_matches_the_uninterrupted_one(tmp_path, manifest):
    """SIGTERM to the launcher mid-run: both workers stop after the same step, rank 0 saves,
    the command exits 143; the same command resumes and ends with the weights of an
    uninterrupted 2-process run."""
    import signal
    import time

    changes = dict(epochs=8)
    cmd, full, _ = _train_cli(tmp_path, manifest, "full", 2, **changes)
    assert subprocess.run(cmd, capture_output=True, timeout=900).returncode == 0
    cmd, out, resume = _train_cli(tmp_path, manifest, "killed", 2, **changes)
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and not (resume / "metrics.csv").is_file() or len(
        pd.read_csv(resume / "metrics.csv")) < 3:  # fmt: skip
        time.sleep(0.2)  # two epochs trained
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode != 0 and "stopped by signal SIGTERM" in err, err[-3000:]
    assert not (out / "model.pt").exists() and (resume / "last.pt").is_file()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 and "resuming from" in done.stderr, done.stderr[-3000:]
    pd.testing.assert_frame_equal(pd.read_csv(out / "metrics.csv"), pd.read_csv(full / "metrics.csv"))
    wf, wr = _weights(full / "model.pt"), _weights(out / "model.pt")
    assert all(torch.equal(wf[k], wr[k]) for k in wf)


# ---------------------------------------------------------------- launch settings in the workflow
@pytest.mark.workflow
def test_launch_settings_re_run_nothing_finished_and_result_settings_do(tmp_path):
    """On a finished training table: toggling train.tensorboard (or any launch setting)
    plans nothing; train.lr re-plans the training runs; train.min_test_acc (it decides the
    flags the runs write) re-plans them and what reads the flags (their table)."""
    import yaml
    from workflow_helpers import copy_workflow, planned_jobs, snakemake

    work = copy_workflow(tmp_path)
    cfg = {"study": "launch", "data": {"dataset": "synthetic", "image_size": 16, "num_train": 64,
           "num_test": 32, "seed": 3}, "archs": ["small_resnet"], "paddings": ["zeros"],
           "seeds": [0], "padding_free_arch": None,
           "train": {"epochs": 1, "batch_size": 32, "width": 4, "snapshot_epochs": [0]}}  # fmt: skip
    target = "results/launch/tables/training.csv"

    def plan(**train):
        path = work / "study.yaml"
        path.write_text(yaml.safe_dump({**cfg, "train": {**cfg["train"], **train}}))
        proc = snakemake(work, "-n", target, "--configfile", "study.yaml", cores=1)
        return planned_jobs(proc.stdout + proc.stderr)

    (work / "study.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(work, target, "--configfile", "study.yaml", cores=1)
    assert plan() == {}
    assert plan(tensorboard=True) == {}
    assert plan(num_workers=2, compile=True, nproc=2) == {}
    assert plan(lr=0.01) == {"train": 1, "table": 1}
    assert plan(min_test_acc=50.0) == {"train": 1, "table": 1}
