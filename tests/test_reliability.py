"""Reliability at the library level: corrupt files are named (never a raw unpickling
traceback), untrusted resume states are discarded, a diverging run stops naming itself,
and every result file is written atomically.

The same properties at the level of the `snakemake` command (kill, interrupt,
--keep-going) are tested in test_workflow_reliability.py.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import padpos.stages.train.training as train_mod  # noqa: E402
from padpos import io  # noqa: E402
from padpos.io import CorruptFileError, load_npz, read_csv  # noqa: E402
from padpos.models import load_checkpoint  # noqa: E402
from padpos.io import read_runs  # noqa: E402
from padpos.stages.train.training import TrainingDiverged, train_model  # noqa: E402
from tiny import TRAIN_SPEC as SPEC  # noqa: E402
from tiny import synthetic_data  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "padpos"

FIX = "Delete it and re-run"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return synthetic_data(tmp_path_factory.mktemp("data"), num_train=64, num_test=32, seed=5)


@pytest.fixture(scope="module")
def trained(manifest, tmp_path_factory):
    """One finished training run (model.pt, snapshots, metrics.csv), uninterrupted."""
    out = tmp_path_factory.mktemp("trained")
    train_model(SPEC, manifest, out / "out", out / "resume")
    return out / "out"


def damaged_copy(src: Path, dest: Path, keep: float | int) -> Path:
    """A copy of ``src`` cut after ``keep`` bytes (an int) or that share of its size."""
    raw = src.read_bytes()
    n = keep if isinstance(keep, int) else int(len(raw) * keep)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(raw[:n])
    return dest


def assert_names_file_and_fix(err: Exception, path: Path) -> None:
    msg = str(err)
    assert str(path) in msg and FIX in msg, msg


# ---------------------------------------------------------------- corrupt checkpoints
@pytest.mark.parametrize("name", ["model.pt", "snapshot_e1.pt"])
@pytest.mark.parametrize("keep", [0, 10, 0.5, 0.99])
def test_truncated_checkpoint_names_the_file_and_the_fix(trained, tmp_path, name, keep):
    bad = damaged_copy(trained / name, tmp_path / name, keep)
    with pytest.raises(CorruptFileError) as err:
        load_checkpoint(bad)
    assert_names_file_and_fix(err.value, bad)


def test_garbage_checkpoint_is_refused_not_unpickled(tmp_path):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"\x80\x04not a checkpoint at all" * 20)
    with pytest.raises(CorruptFileError) as err:
        load_checkpoint(bad)
    assert_names_file_and_fix(err.value, bad)


def test_a_file_that_is_no_padpos_checkpoint_is_named(tmp_path):
    other = tmp_path / "model.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(CorruptFileError, match="no padpos model") as err:
        load_checkpoint(other)
    assert_names_file_and_fix(err.value, other)


# ---------------------------------------------------------------- corrupt per-run results
@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # cut mid-line
        lambda raw: raw[:-1],  # only the final newline lost
        lambda raw: b"",  # empty
        lambda raw: raw.split(b"\n")[0] + b"\n",  # header only
        lambda raw: b'"unclosed\n' + raw,  # unparsable
    ],
    ids=["half", "last-byte", "empty", "header-only", "garbage"],
)
def test_damaged_per_run_csv_names_the_file_and_the_fix(trained, tmp_path, damage):
    bad = tmp_path / "seed0" / "metrics.csv"
    bad.parent.mkdir()
    bad.write_bytes(damage((trained / "metrics.csv").read_bytes()))
    good = trained / "metrics.csv"
    with pytest.raises(CorruptFileError) as err:
        read_runs([good, bad])
    assert_names_file_and_fix(err.value, bad)


def test_intact_per_run_csv_reads_as_written(trained):
    assert read_csv(trained / "metrics.csv").equals(pd.read_csv(trained / "metrics.csv"))


def test_truncated_npz_names_the_file(tmp_path):
    good = tmp_path / "maps.npz"
    with open(good, "wb") as fh:
        np.savez(fh, a=np.arange(1000.0), b=np.ones((30, 30)))
    bad = damaged_copy(good, tmp_path / "bad" / "maps.npz", 0.5)
    with pytest.raises(CorruptFileError) as err:
        load_npz(bad, "PPP heat maps")
    assert_names_file_and_fix(err.value, bad)
    assert set(load_npz(good)) == {"a", "b"}


def _padpos(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "padpos", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_commands_report_a_corrupt_file_without_a_traceback(trained, tmp_path):
    """What a user sees in a job's log: one line naming the file and the fix, exit status 1."""
    bad_csv = damaged_copy(trained / "metrics.csv", tmp_path / "metrics.csv", 0.5)
    proc = _padpos("table", "training", "--runs", str(bad_csv), "--output", "t.csv", cwd=tmp_path)
    assert proc.returncode == 1
    assert str(bad_csv) in proc.stderr and FIX in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "t.csv").exists()

    bad_model = damaged_copy(trained / "model.pt", tmp_path / "model.pt", 0.5)
    spec = json.dumps({"study": "t", "num_images": 4, "bn_images": 4, "batch_size": 4})
    proc = _padpos(
        "ppp", "--checkpoint", str(bad_model), "--data", "none.json", "--spec", spec,
        "--output-csv", "p.csv", "--output-npz", "p.npz", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1
    assert str(bad_model) in proc.stderr and FIX in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "Unpickl" not in proc.stderr, proc.stderr


# ---------------------------------------------------------------- resume states
def _killed_run(manifest, root: Path, monkeypatch, at_epoch: int = 2) -> tuple[Path, Path]:
    """A training run killed during ``at_epoch``; returns (out, resume) folders."""
    real = train_mod.train_one_epoch
    calls = {"n": 0}

    def killed(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == at_epoch:
            raise KeyboardInterrupt("simulated kill")
        return real(*args, **kwargs)

    monkeypatch.setattr(train_mod, "train_one_epoch", killed)
    with pytest.raises(KeyboardInterrupt):
        train_model(SPEC, manifest, root / "out", root / "resume")
    monkeypatch.setattr(train_mod, "train_one_epoch", real)
    assert (root / "resume" / "last.pt").is_file() and not (root / "out" / "model.pt").exists()
    return root / "out", root / "resume"


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = torch.load(a, weights_only=False)["state_dict"], torch.load(b, weights_only=False)["state_dict"]
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.parametrize("damaged", ["last.pt", "snapshot_e1.pt", "snapshot_e0.pt"])
def test_corrupt_resume_state_is_discarded_with_a_message(
    manifest, trained, tmp_path, monkeypatch, capfd, damaged
):
    out, resume = _killed_run(manifest, tmp_path, monkeypatch)
    target = resume / damaged
    damaged_copy(target, target, 0.5)
    capfd.readouterr()
    prov = train_model(SPEC, manifest, out, resume)
    err = capfd.readouterr().err
    assert f"discarding resume state {resume / 'last.pt'}" in err, err
    assert "resuming from" not in err
    assert prov["resumed_from_epoch"] is None
    # started over, so the result is the uninterrupted one (not built on a damaged state)
    assert _same_weights(out / "model.pt", trained / "model.pt")
    assert _same_weights(out / "snapshot_e1.pt", trained / "snapshot_e1.pt")


def test_stale_resume_state_is_discarded_with_a_message(manifest, tmp_path, monkeypatch, capfd):
    out, resume = _killed_run(manifest, tmp_path, monkeypatch)
    capfd.readouterr()
    prov = train_model({**SPEC, "lr": 0.01}, manifest, out, resume)
    err = capfd.readouterr().err
    assert "discarding resume state" in err and "stale" in err, err
    assert prov["resumed_from_epoch"] is None


def test_intact_resume_state_is_used(manifest, trained, tmp_path, monkeypatch, capfd):
    out, resume = _killed_run(manifest, tmp_path, monkeypatch)
    capfd.readouterr()
    prov = train_model(SPEC, manifest, out, resume)
    assert "resuming from epoch 1" in capfd.readouterr().err
    assert prov["resumed_from_epoch"] == 1
    assert _same_weights(out / "model.pt", trained / "model.pt")


# ---------------------------------------------------------------- divergence
def test_diverging_run_stops_naming_the_run_and_epoch_and_writes_nothing(manifest, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(TrainingDiverged) as err:
        train_model({**SPEC, "lr": 1e9, "seed": 3}, manifest, out, tmp_path / "resume")
    msg = str(err.value)
    assert "small_resnet/zeros/seed3" in msg and "epoch " in msg and "train.lr" in msg, msg
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("loss", [float("nan"), float("inf"), torch.tensor(float("-inf"))])
def test_non_finite_epoch_loss_is_refused(loss):
    with pytest.raises(TrainingDiverged, match=r"seed1.*epoch 4"):
        train_mod.check_finite_loss(loss, {**SPEC, "seed": 1}, 4)
    train_mod.check_finite_loss(torch.tensor(2.5), SPEC, 4)  # finite: no error


# ---------------------------------------------------------------- atomic outputs
# calls that write a file; outside padpos/io.py they must sit inside `with atomic_path(...)`
WRITERS = {"savefig", "save", "savez", "savez_compressed", "to_csv", "to_parquet", "to_pickle",
           "write_text", "write_bytes", "copyfile", "copy", "copy2", "move", "dump"}  # fmt: skip
# a function that writes to a temporary path that its caller holds inside atomic_path
WRITES_TO_CALLERS_TMP = {("data/download.py", "_stream_to_file")}
# files that are no result: a local job's GPU slot lock (runtime.py), held open for the
# job's lifetime and rewritten with its pid; nothing reads it as an output
NOT_RESULTS = {("runtime.py", "_try_lock")}


def _is_write(call: ast.Call) -> str | None:
    f = call.func
    if isinstance(f, ast.Attribute) and f.attr in WRITERS:
        owner = f.value.id if isinstance(f.value, ast.Name) else None
        if f.attr in {"copyfile", "copy", "copy2", "move"} and owner != "shutil":
            return None  # tensor.copy(), df.copy(): no file
        if f.attr == "dump" and not (isinstance(f.value, ast.Name) and f.value.id in {"json", "pickle", "yaml"}):
            return None
        if f.attr == "dump" and len(call.args) < 2:
            return None  # json.dumps-like use without a file
        return f.attr
    if isinstance(f, ast.Name) and f.id == "open":
        target = call.args[0] if call.args else None
        if isinstance(target, ast.Attribute) and target.attr == "devnull":
            return None  # os.devnull: no file is written
        mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
        if isinstance(mode, ast.Constant) and isinstance(mode.value, str) and set(mode.value) & set("wax+"):
            return f"open(..., {mode.value!r})"
    return None


def unguarded_writes(path: Path) -> list[str]:
    """Write calls in ``path`` that are not inside a `with atomic_path(...)` block."""
    tree = ast.parse(path.read_text())
    found = []

    def visit(node, guarded: bool, func: str | None):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            func = node.name
        if isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if isinstance(call, ast.Call):
                    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
                    guarded = guarded or name == "atomic_path"
        if isinstance(node, ast.Call):
            kind = _is_write(node)
            if kind and not guarded and (path.relative_to(SRC).as_posix(), func) not in WRITES_TO_CALLERS_TMP | NOT_RESULTS:
                found.append(f"{path.relative_to(SRC)}:{node.lineno} {kind} (in {func})")
        for child in ast.iter_child_nodes(node):
            visit(child, guarded, func)

    visit(tree, False, None)
    return found


def test_every_result_write_goes_through_an_atomic_writer():
    offenders = [w for p in sorted(SRC.rglob("*.py")) if p.name != "io.py" for w in unguarded_writes(p)]
    assert not offenders, "write through padpos.io (atomic) instead: " + "; ".join(offenders)


def test_the_atomic_write_check_finds_a_raw_write(tmp_path, monkeypatch):
    src = tmp_path / "padpos"
    src.mkdir()
    (src / "bad.py").write_text(
        "import torch\nfrom padpos.io import atomic_path\n"
        "def f(m, p, fig, df):\n"
        "    torch.save(m, p)\n"
        "    fig.savefig(p)\n"
        "    with atomic_path(p) as tmp:\n"
        "        df.to_csv(tmp)\n"
        "    with open(p, 'w') as fh:\n"
        "        fh.write('x')\n"
        "    sink = open(os.devnull, 'w')\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "SRC", src)
    found = unguarded_writes(src / "bad.py")
    assert [w.split()[1] for w in found] == ["save", "savefig", "open(...,"], found


def _writers(tmp_path):
    """(name, write(path, ok), file) for every writer of padpos.io; ok=False fails midway."""

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("fails while being written")

    class BadStr:
        def __str__(self):
            raise RuntimeError("fails while being written")

    def figure(path, ok):
        fig = plt.figure()
        if not ok:
            fig.savefig = lambda p, **k: (Path(p).write_bytes(b"\x89PNG half"), 1 / 0)
        io.save_figure(fig, path)
        plt.close(fig)

    big = pd.DataFrame({"x": range(5000)})
    return [
        ("save_torch", lambda p, ok: io.save_torch(p, {"w": torch.zeros(1000), "x": 1 if ok else Unpicklable()}), "a.pt"),
        ("write_csv", lambda p, ok: io.write_csv(p, big if ok else big.assign(y=[0] * 4999 + [BadStr()])), "a.csv"),
        ("write_text", lambda p, ok: io.write_text(p, "new\n" if ok else iter(["x"])), "a.txt"),
        ("write_json", lambda p, ok: io.write_json(p, {"a": 1} if ok else {"a": Unpicklable, 1: {2}}), "a.json"),
        ("save_figure", figure, "a.png"),
    ]  # fmt: skip


@pytest.mark.parametrize("index", range(5), ids=["save_torch", "write_csv", "write_text", "write_json", "save_figure"])
def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path, index):
    name, write, filename = _writers(tmp_path)[index]
    path = tmp_path / "out" / filename
    write(path, True)
    before = path.read_bytes()
    assert before
    with pytest.raises(Exception):
        write(path, False)
    assert path.read_bytes() == before, f"{name} left a changed {filename}"
    assert sorted(p.name for p in path.parent.iterdir()) == [filename], f"{name} left a temporary file"


# ---------------------------------------------------------------- the end-of-run failure list
SNAKEMAKE_LOG = """\
Error in rule train:
    message: None
    jobid: 6
    output: results/s/train/small_resnet/zeros/seed1/model.pt
    log: logs/s/train/small_resnet_zeros_seed1.log (check log file(s) for error details)
    shell:
        python -m padpos train ...
        (command exited with non-zero exit code)
Logfile logs/s/train/small_resnet_zeros_seed1.log:
================================================================================
Error in rule ppp:
    jobid: 9
    log: logs/s/ppp/a.log (check log file(s) for error details)
Error in rule train:
    message: None
    jobid: 6
    output: results/s/train/small_resnet/zeros/seed1/model.pt
    log: logs/s/train/small_resnet_zeros_seed1.log (check log file(s) for error details)
Exiting because a job execution failed. Look above for error messages
"""


def test_failure_summary_lists_each_failed_job_once_with_its_error_line(tmp_path):
    from padpos.workflow.job_errors import error_summary as failure_summary

    (tmp_path / "logs/s/train").mkdir(parents=True)
    (tmp_path / "logs/s/ppp").mkdir(parents=True)
    (tmp_path / "logs/s/train/small_resnet_zeros_seed1.log").write_text(
        "epoch 1/3:  10%|#\repoch 1/3: 20%|##\npadpos train: error: training diverged: run x/y/seed1 at epoch 1\n"
    )
    (tmp_path / "logs/s/ppp/a.log").write_text(
        'Traceback (most recent call last):\n  File "x.py"\nKeyError: \'meta\'\n'
    )
    (tmp_path / "sm.log").write_text(SNAKEMAKE_LOG)
    summary = failure_summary([str(tmp_path / "sm.log")], workdir=tmp_path)
    assert summary.startswith("padpos: 2 job(s) failed"), summary
    assert "logs/s/train/small_resnet_zeros_seed1.log: padpos train: error: training diverged" in summary
    assert "logs/s/ppp/a.log: KeyError: 'meta'" in summary
    assert failure_summary([str(tmp_path / "missing.log")]) == ""


def test_figures_name_a_truncated_npz_they_read(tmp_path):
    from padpos.stages.posenet.figures import load_examples
    from padpos.stages.ppp.figures import read_maps

    maps = tmp_path / "maps.npz"
    with open(maps, "wb") as fh:
        np.savez(fh, layers=np.array(["layer1"]), arch="small_resnet", padding="zeros", seed=0, epoch=2,
                 stride_0=1, heat_0=np.ones((8, 8)), feature_std_0=2.0)  # fmt: skip
    rows = read_maps([maps])
    assert len(rows) == 1 and rows["map"].iloc[0].max() == 0.5 and rows["padding"].iloc[0] == "zeros"
    for reader, name in [(lambda p: read_maps([p]), "heat_maps.npz"), (load_examples, "predictions.npz")]:
        bad = damaged_copy(maps, tmp_path / "bad" / name, 0.6)
        with pytest.raises(CorruptFileError) as err:
            reader(bad)
        assert_names_file_and_fix(err.value, bad)
