"""Model factory: every arch with every padding, feature taps, checkpoint round trip."""

import pytest
import torch

from padpos.models import ARCHS, build_model, extract_features, feature_layers, load_checkpoint
from padpos.models import checkpoint_dict
from padpos.padding import PaddedConv2d, SAME_SIZE_SCHEMES


@pytest.mark.parametrize("padding", SAME_SIZE_SCHEMES)
@pytest.mark.parametrize("arch", ["small_resnet", "small_vgg"])
def test_small_nets_keep_resolution_for_every_same_size_scheme(arch, padding):
    model = build_model(arch, padding, num_classes=10, width=4).eval()
    x = torch.randn(2, 3, 32, 32)
    feats = extract_features(model, x, feature_layers(arch))
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
        feats = extract_features(model, x, feature_layers(arch))
    assert len(feats) == (4 if "resnet" in arch else 5)
    shapes = [f.shape[-1] for f in feats.values()]
    assert shapes == sorted(shapes, reverse=True)  # deeper = coarser
    assert model(x).shape == (1, 5)


def test_feature_layers_of_vgg16_are_the_five_stage_ends():
    names = feature_layers("vgg16_bn")
    assert len(names) == 5 and len(set(names)) == 5


def test_unknown_arch_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="small_resnet"):
        build_model("alexnet", "zeros", 10)


def test_extract_features_names_a_missing_layer():
    model = build_model("small_resnet", "zeros", 10, width=4)
    with pytest.raises(KeyError, match="layer9"):
        extract_features(model, torch.randn(1, 3, 16, 16), ["layer9"])


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
    assert set(schema["properties"]["archs"]["items"]["enum"]) == set(ARCHS)
