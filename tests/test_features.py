"""Feature extraction, measured layer geometry, and the real-context reference crop."""

import pytest
import torch
from torch import nn

from padpos.features import (
    LayerGeometry,
    central_region,
    context_margin,
    feature_pairs,
    feature_sizes,
    layer_features,
    layer_geometry,
)


def scenes(n, size, margin, seed=0):
    """Random scenes with ``margin`` px of real context: (x, x_plus), x the centre of x_plus."""
    g = torch.Generator().manual_seed(seed)
    x_plus = torch.randn(n, 3, size + 2 * margin, size + 2 * margin, generator=g, dtype=torch.float64)
    return x_plus[..., margin : margin + size, margin : margin + size], x_plus


def strided_net(padding: int, mode: str = "zeros") -> nn.Sequential:
    """conv3 - conv3 stride 2 - maxpool 2 - conv3, ReLUs between (float64 for exact tests)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=padding, padding_mode=mode),
        nn.ReLU(),
        nn.Conv2d(6, 6, 3, stride=2, padding=padding, padding_mode=mode),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 6, 3, padding=padding, padding_mode=mode),
    )
    return net.double().eval()


LAYERS = ["1", "3", "4", "5"]


def test_layer_features_returns_named_maps_and_skips_the_head():
    # the head only accepts 8x8 inputs: it must never run (the forward stops at the layer)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 2))
    feats = layer_features(net.eval(), torch.randn(2, 3, 20, 20), ["0", "1"])
    assert list(feats) == ["0", "1"]
    assert feats["1"].shape == (2, 4, 20, 20)
    assert torch.equal(feats["1"], feats["0"].clamp_min(0))


def test_layer_features_names_an_unknown_layer():
    with pytest.raises(KeyError, match="layer4"):
        layer_features(nn.Sequential(nn.Conv2d(3, 3, 1)), torch.zeros(1, 3, 4, 4), ["layer4"])


def test_geometry_of_a_strided_stack_matches_the_hand_computed_fields():
    # conv3 (r 1) -> conv3 s2 (r 1+1, s 2) -> pool 2 (unit i covers conv outputs 2i, 2i+1:
    # left 2, right 2+2) -> conv3 at stride 4 (+4 on each side)
    geo = layer_geometry(strided_net(padding=1), LAYERS)
    assert geo == {
        "1": LayerGeometry(1, 1, 1),
        "3": LayerGeometry(2, 2, 2),
        "4": LayerGeometry(4, 2, 4),
        "5": LayerGeometry(4, 6, 8),
    }


def test_geometry_does_not_depend_on_the_padding_scheme():
    ref = layer_geometry(strided_net(padding=1), LAYERS)
    for mode in ("reflect", "circular", "replicate"):
        assert layer_geometry(strided_net(padding=1, mode=mode), LAYERS) == ref


def test_geometry_of_torchvision_resnet18_matches_its_known_receptive_field():
    torchvision = pytest.importorskip("torchvision")
    net = torchvision.models.resnet18(weights=None).eval()
    geo = layer_geometry(net, ["layer1", "layer2"])
    # published receptive fields: 43 px after layer1, 99 px after layer2
    assert geo["layer1"] == LayerGeometry(4, 21, 21)
    assert geo["layer2"] == LayerGeometry(8, 49, 49)


def test_margin_is_the_field_rounded_up_to_the_stride():
    g = LayerGeometry(stride=4, rf_left=6, rf_right=8)
    # crop 32 px -> 8 positions; last anchor 28, field ends at 36 -> needs 36 - 31 = 5 px
    assert g.margin(32, 8) == 8
    assert LayerGeometry(4, 21, 21).margin(32, 8) == 24
    assert LayerGeometry(1, 0, 0).margin(32, 32) == 0
    # one margin for all layers: a multiple of every stride
    both = {"a": LayerGeometry(2, 3, 3), "b": LayerGeometry(8, 1, 1)}
    assert context_margin(both, 32, {"a": 16, "b": 4}) == 8


def test_valid_net_features_are_exactly_the_aligned_central_region():
    """With no padding, f(x) IS the central region of f(x_plus): every unit sees the same
    real pixels in both. Any margin that is a multiple of the stride must align exactly."""
    net = strided_net(padding=0)
    geo = layer_geometry(net, LAYERS)
    strides = {k: g.stride for k, g in geo.items()}
    for margin in (4, 8, 12):
        x, x_plus = scenes(3, 28, margin)
        for name, (f, ref) in feature_pairs(net, x, x_plus, LAYERS, margin, strides).items():
            assert f.shape == ref.shape
            assert torch.allclose(f, ref, rtol=0, atol=1e-12), (margin, name)


def test_a_crop_shifted_by_one_position_is_not_the_reference():
    net = strided_net(padding=0)
    x, x_plus = scenes(3, 28, 8)
    f = layer_features(net, x, ["5"])["5"]
    f_plus = layer_features(net, x_plus, ["5"])["5"]
    shifted = central_region(f_plus, 8, 4, f.shape)  # start 2
    assert torch.allclose(f, shifted, atol=1e-12)
    wrong = f_plus[..., 3 : 3 + f.shape[-2], 2 : 2 + f.shape[-1]]
    assert (f - wrong).abs().mean() > 0.1 * f.abs().mean()


def test_measured_margin_is_sufficient_and_tight_for_a_padded_net():
    """The reference must not change with more context (the margin covers the field) and
    must change with one stride less (the margin is not larger than needed)."""
    net = strided_net(padding=1)
    geo = layer_geometry(net, ["5"])
    size = 28
    margin = context_margin(geo, size, feature_sizes(net, ["5"], size))
    assert margin == 8
    most = margin + 8
    _, big = scenes(2, size, most)

    def reference(m):
        x_plus = big[..., most - m : most + size + m, most - m : most + size + m]
        x = x_plus[..., m : m + size, m : m + size]
        return feature_pairs(net, x, x_plus, ["5"], m, {"5": 4})["5"][1]

    assert torch.allclose(reference(margin), reference(margin + 4), rtol=0, atol=1e-12)
    assert not torch.allclose(reference(margin), reference(margin - 4), rtol=0, atol=1e-6)


def test_central_region_rejects_a_margin_off_the_stride_grid():
    with pytest.raises(ValueError, match="multiple of the total stride"):
        central_region(torch.zeros(1, 1, 10, 10), 6, 4, (1, 1, 2, 2))


def test_feature_sizes_probe_the_model_on_its_own_device():
    # "meta" (shapes only) stands in for a GPU: a device that is not the CPU
    net = strided_net(padding=1).to("meta")
    seen = []
    net.register_forward_pre_hook(lambda _m, inputs: seen.append(inputs[0].device))
    assert feature_sizes(net, LAYERS, 32) == {"1": 32, "3": 16, "4": 8, "5": 8}
    assert seen == [torch.device("meta")]
