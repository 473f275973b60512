"""Model factory: every arch with every padding, feature taps, checkpoint round trip."""

import pytest
import torch

from padpos.features import layer_features
from padpos.models import ARCHS, MODELS, build_model, feature_layers, load_checkpoint
from padpos.models import checkpoint_dict, is_residual, register_model
from padpos.names import RESIDUAL_ARCHS
from padpos.padding import PaddedConv2d, SAME_SIZE_SCHEMES


@pytest.mark.parametrize("padding", SAME_SIZE_SCHEMES)
@pytest.mark.parametrize("arch", ["small_resnet", "small_vgg"])
def test_small_nets_keep_resolution_for_every_same_size_scheme(arch, padding):
    model = build_model(arch, padding, num_classes=10, width=4).eval()
    x = torch.randn(2, 3, 32, 32)
    feats = layer_features(model, x, feature_layers(arch))
    sizes = [f.shape[-1] for f in feats.values()]
    expected = [32, 16, 8, 4] if arch == "small_resnet" else [32, 16, 8, 4, 2]
    assert sizes == expected
    assert model(x).shape == (2, 10)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size[0] > 1]
    assert convs and all(isinstance(m, PaddedConv2d) and m.padding_scheme == padding for m in convs)


@pytest.mark.parametrize("arch", ["resnet18", "vgg11_bn"])
def test_torchvision_archs_build_with_a_scheme(arch):
    model = build_model(arch, "reflect", num_classes=5).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats = layer_features(model, x, feature_layers(arch))
    assert len(feats) == (4 if arch in RESIDUAL_ARCHS else 5)
    shapes = [f.shape[-1] for f in feats.values()]
    assert shapes == sorted(shapes, reverse=True)  # deeper = coarser
    assert model(x).shape == (1, 5)


def test_feature_layers_of_vgg16_are_the_five_stage_ends():
    names = feature_layers("vgg16_bn")
    assert len(names) == 5 and len(set(names)) == 5


def test_unknown_arch_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="small_resnet"):
        build_model("alexnet", "zeros", 10)


def test_layer_features_names_a_missing_layer():
    model = build_model("small_resnet", "zeros", 10, width=4)
    with pytest.raises(KeyError, match="layer9"):
        layer_features(model, torch.randn(1, 3, 16, 16), ["layer9"])


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build_model("small_resnet", "partial", 10, width=4).eval()
    meta = {"arch": "small_resnet", "padding": "partial", "num_classes": 10, "width": 4, "epoch": 3}
    torch.save(checkpoint_dict(model, meta), tmp_path / "m.pt")
    loaded, got = load_checkpoint(tmp_path / "m.pt")
    x = torch.randn(2, 3, 32, 32)
    assert got["epoch"] == 3
    assert torch.equal(model(x), loaded(x))


def test_all_archs_are_known_to_the_schema(repo):
    import yaml

    schema = yaml.safe_load((repo / "workflow/schemas/config.schema.yaml").read_text())
    assert set(schema["$defs"]["arch"]["enum"]) == set(ARCHS)


def test_the_registry_holds_every_arch_name_and_its_residual_flag():
    assert list(MODELS) == list(ARCHS)
    assert {a for a in ARCHS if is_residual(a)} == set(RESIDUAL_ARCHS)


def test_a_registered_model_is_built_by_name_with_its_taps():
    from torch import nn

    name = "test_tiny_net"

    @register_model(name, residual=False, feature_layers=("0",))
    def tiny(num_classes, width=16, **kwargs):
        return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.Flatten(), nn.LazyLinear(num_classes))

    try:
        model = build_model(name, "reflect", num_classes=3, width=2)
        assert model[0].padding_scheme == "reflect" and feature_layers(name) == ["0"]
        with pytest.raises(ValueError, match="registered twice"):
            register_model(name, residual=False, feature_layers=("0",))(tiny)
    finally:
        del MODELS[name]


def test_training_flags_read_the_run_and_warn_when_no_checkpoint_records_them():
    import warnings

    from padpos.models import UnflaggedCheckpointWarning, training_flags

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # recorded flags, either way: no warning
        final = {"epoch": 6, "failed": True, "converged": False}
        assert training_flags([{"epoch": 0}, final], ["e0.pt", "model.pt"]) == {"failed": True, "converged": False}
        final = {"epoch": 6, "failed": False, "converged": True}
        assert training_flags([{"epoch": 0}, final], ["e0.pt", "model.pt"]) == {"failed": False, "converged": True}
        # a model.pt of an older pipeline records `failed` only: converged, as before
        assert training_flags([{"failed": False}], ["model.pt"]) == {"failed": False, "converged": True}
    with pytest.warns(UnflaggedCheckpointWarning, match="e0.pt, e1.pt"):
        assert training_flags([{"epoch": 0}, {"epoch": 1}], ["e0.pt", "e1.pt"]) == {"failed": False, "converged": True}


def test_the_plain_net_keeps_a_map_with_valid_convs_at_32_px():
    """small_plain is the padding-free arm: with 'valid' convs a 32 px input still leaves
    a 4 x 4 map (a ResNet's additions could not stay aligned), with zeros an 8 x 8 one."""
    x = torch.randn(2, 3, 32, 32)
    for padding, side in (("valid", 4), ("zeros", 8)):
        model = build_model("small_plain", padding, num_classes=10, width=4).eval()
        feats = layer_features(model, x, feature_layers("small_plain"))
        assert feats["layer4"].shape[-1] == side and model(x).shape == (2, 10)
