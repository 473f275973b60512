"""Padding schemes: each border is checked numerically against an independent computation."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from padpos.padding import (
    SAME_SIZE_SCHEMES,
    SCHEMES,
    FullPaddingBlock,
    PaddedAvgPool2d,
    PaddedConv2d,
    PaddedMaxPool2d,
    center_pad_to,
    conv2d,
    convert_padding,
    pad_border,
    scheme_of,
    set_extra_border,
)

MODE_SCHEMES = ("reflect", "replicate", "circular")


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def rand(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=seeded(seed), dtype=torch.float64)


def padded_conv(scheme, cin=2, cout=3, k=3, stride=1, dilation=1, bias=True, seed=0, **kw):
    """A float64 PaddedConv2d with random weights (and bias)."""
    conv = PaddedConv2d(
        cin, cout, k, stride=stride, dilation=dilation, bias=bias, scheme=scheme, **kw
    ).double()
    with torch.no_grad():
        conv.weight.copy_(rand(*conv.weight.shape, seed=seed))
        if bias:
            conv.bias.copy_(rand(cout, seed=seed + 1))
    return conv


def real_pixel_count(h, w, k, stride, pad, dilation=1) -> np.ndarray:
    """Brute force: real input pixels under each output's kernel with zero padding ``pad``."""
    h_out = (h + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    w_out = (w + 2 * pad - dilation * (k - 1) - 1) // stride + 1
    count = np.zeros((h_out, w_out))
    for i, j, a, b in itertools.product(range(h_out), range(w_out), range(k), range(k)):
        y = i * stride - pad + a * dilation
        x = j * stride - pad + b * dilation
        count[i, j] += 0 <= y < h and 0 <= x < w
    return count


# ---------------------------------------------------------------- scheme names
def test_scheme_lists():
    assert SCHEMES == (
        "zeros",
        "reflect",
        "replicate",
        "circular",
        "partial",
        "none",
        "symmetric",
        "valid",
        "full",
    )
    assert SAME_SIZE_SCHEMES == SCHEMES[:7]


def test_unknown_scheme_lists_the_allowed_names():
    with pytest.raises(ValueError, match="'mirror'.*zeros, reflect.*full"):
        convert_padding(nn.Conv2d(1, 1, 3, padding=1), "mirror")
    with pytest.raises(ValueError, match="allowed"):
        conv2d(1, 1, 3, scheme="mirror")


def test_factory_uses_same_padding_and_keeps_parent_padding_zero():
    conv = conv2d(2, 4, 5, dilation=2, scheme="reflect")
    assert conv.pad_hw == (4, 4) and conv.padding == (0, 0)
    assert conv.bias is None and conv.padding_scheme == "reflect"
    assert conv(torch.randn(1, 2, 11, 12)).shape == (1, 4, 11, 12)


# ---------------------------------------------------------------- conv borders
def test_zeros_equals_nn_conv2d_with_padding():
    conv = padded_conv("zeros", stride=2)
    ref = nn.Conv2d(2, 3, 3, stride=2, padding=1).double()
    ref.load_state_dict(conv.state_dict())
    x = rand(2, 2, 9, 8)
    torch.testing.assert_close(conv(x), ref(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("scheme", MODE_SCHEMES)
@pytest.mark.parametrize("k,dilation", [(3, 1), (5, 1), (3, 2)])
def test_mode_schemes_equal_f_pad_then_valid_conv(scheme, k, dilation):
    conv = padded_conv(scheme, k=k, dilation=dilation)
    x = rand(2, 2, 9, 10, seed=3)
    p = dilation * (k - 1) // 2
    expected = F.conv2d(
        F.pad(x, (p, p, p, p), mode=scheme), conv.weight, conv.bias, dilation=dilation
    )
    out = conv(x)
    assert out.shape[-2:] == x.shape[-2:]
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "scheme,np_mode", [("reflect", "reflect"), ("circular", "wrap"), ("replicate", "edge")]
)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_pad_border_beyond_map_size_repeats_like_numpy(scheme, np_mode, n):
    x = rand(1, 2, n, n + 1)
    pads = (3, 1, 4, 2)  # left, right, top, bottom: larger than the map
    expected = np.pad(x.numpy(), ((0, 0), (0, 0), (4, 2), (3, 1)), mode=np_mode)
    np.testing.assert_array_equal(pad_border(x, pads, scheme).numpy(), expected)


# ---------------------------------------------------------------- symmetric (9th scheme)
def numpy_valid_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride=1, dilation=1):
    """Cross-correlation without padding, written out in numpy (N C H W, O C k k)."""
    n, _, h, wd = x.shape
    o, _, k, _ = w.shape
    span = dilation * (k - 1)
    h_out, w_out = (h - span - 1) // stride + 1, (wd - span - 1) // stride + 1
    out = np.zeros((n, o, h_out, w_out))
    for i, j in itertools.product(range(h_out), range(w_out)):
        patch = x[:, :, i * stride : i * stride + span + 1 : dilation,
                  j * stride : j * stride + span + 1 : dilation]  # fmt: skip
        out[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    return out + b.reshape(1, -1, 1, 1)


@pytest.mark.parametrize("k,stride,dilation", [(3, 1, 1), (3, 2, 1), (5, 1, 1), (3, 1, 2)])
def test_symmetric_equals_numpy_symmetric_pad_then_valid_conv(k, stride, dilation):
    conv = padded_conv("symmetric", k=k, stride=stride, dilation=dilation, seed=4)
    x = rand(2, 2, 9, 10, seed=5)
    p = dilation * (k - 1) // 2
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (p, p), (p, p)), mode="symmetric")
    expected = numpy_valid_conv(
        padded, conv.weight.detach().numpy(), conv.bias.detach().numpy(), stride, dilation
    )
    out = conv(x).detach().numpy()
    assert out.shape == F.conv2d(x, conv.weight, stride=stride, padding=p, dilation=dilation).shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)


def test_symmetric_repeats_the_edge_pixel_unlike_reflect():
    x = torch.tensor([[[[1.0, 2.0, 3.0]]]], dtype=torch.float64)
    assert pad_border(x, (2, 2, 0, 0), "symmetric").flatten().tolist() == [2, 1, 1, 2, 3, 3, 2]
    assert pad_border(x, (2, 2, 0, 0), "reflect").flatten().tolist() == [3, 2, 1, 2, 3, 2, 1]


@pytest.mark.parametrize("n", [1, 2, 3])
def test_symmetric_pad_beyond_map_size_repeats_like_numpy(n):
    x = rand(1, 2, n, n + 1)
    expected = np.pad(x.numpy(), ((0, 0), (0, 0), (4, 2), (3, 1)), mode="symmetric")
    np.testing.assert_array_equal(pad_border(x, (3, 1, 4, 2), "symmetric").numpy(), expected)


def test_symmetric_maxpool_equals_numpy_symmetric_pad_then_pool():
    pool = PaddedMaxPool2d(3, stride=2, padding=1, scheme="symmetric")
    x = rand(1, 2, 8, 7, seed=6)
    padded = torch.from_numpy(np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)), mode="symmetric"))
    torch.testing.assert_close(pool(x), F.max_pool2d(padded, 3, 2), rtol=0, atol=0)


def test_reflect_conv_on_a_one_pixel_map_reflects_the_pixel_to_itself():
    conv = padded_conv("reflect")
    x = rand(1, 2, 1, 1)
    expected = F.conv2d(x.expand(1, 2, 3, 3), conv.weight, conv.bias)
    torch.testing.assert_close(conv(x), expected, rtol=0, atol=1e-12)


def test_none_resizes_bilinearly_then_valid_conv_and_keeps_the_size():
    conv = padded_conv("none", stride=2)
    x = rand(1, 2, 9, 7)
    resized = F.interpolate(x, size=(11, 9), mode="bilinear", align_corners=False)
    expected = F.conv2d(resized, conv.weight, conv.bias, stride=2)
    zero_padded = F.conv2d(x, conv.weight, conv.bias, stride=2, padding=1)
    out = conv(x)
    assert out.shape == zero_padded.shape
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("k,dilation", [(3, 1), (5, 1), (3, 2)])
def test_valid_shrinks_and_full_grows_by_dilated_kernel(k, dilation):
    x = rand(1, 2, 12, 11)
    grow = dilation * (k - 1)
    valid = padded_conv("valid", k=k, dilation=dilation)
    full = padded_conv("full", k=k, dilation=dilation)
    assert valid(x).shape[-2:] == (12 - grow, 11 - grow)
    torch.testing.assert_close(valid(x), F.conv2d(x, valid.weight, valid.bias, dilation=dilation))
    expected = F.conv2d(F.pad(x, (grow,) * 4), full.weight, full.bias, dilation=dilation)
    assert full(x).shape[-2:] == (12 + grow, 11 + grow)
    torch.testing.assert_close(full(x), expected, rtol=0, atol=1e-12)


# ---------------------------------------------------------------- partial conv
def test_partial_on_ones_gives_kernel_area_everywhere():
    conv = padded_conv("partial", cin=1, cout=1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    out = conv(torch.ones(1, 1, 5, 6, dtype=torch.float64))
    torch.testing.assert_close(out, torch.full_like(out, 9.0), rtol=0, atol=1e-12)


def test_partial_ratio_corner_edge_interior():
    ratio = padded_conv("partial").partial_ratio(5, 6, "cpu", torch.float64)[0, 0]
    assert ratio[0, 0] == ratio[0, -1] == ratio[-1, 0] == ratio[-1, -1] == 9 / 4
    assert ratio[0, 2] == ratio[2, 0] == ratio[-1, 3] == ratio[3, -1] == 9 / 6
    assert torch.all(ratio[1:-1, 1:-1] == 1.0)


@pytest.mark.parametrize("stride,dilation,k", [(1, 1, 3), (2, 1, 3), (2, 1, 5), (1, 2, 3)])
def test_partial_rescales_before_adding_bias(stride, dilation, k):
    conv = padded_conv("partial", k=k, stride=stride, dilation=dilation)
    assert torch.all(conv.bias != 0)
    x = rand(2, 2, 9, 8, seed=5)
    pad = dilation * (k - 1) // 2
    ratio = (k * k) / real_pixel_count(9, 8, k, stride, pad, dilation)
    raw = F.conv2d(x, conv.weight, None, stride=stride, padding=pad, dilation=dilation)
    expected = raw * torch.from_numpy(ratio) + conv.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(conv(x), expected, rtol=0, atol=1e-12)


def test_partial_ratio_cache_is_reused_and_recomputed_per_size():
    conv = padded_conv("partial")
    conv(rand(1, 2, 6, 6))
    first = conv.partial_ratio(6, 6, "cpu", torch.float64)
    conv(rand(1, 2, 6, 6, seed=1))
    assert conv.partial_ratio(6, 6, "cpu", torch.float64) is first
    assert len(conv._partial_ratio_cache) == 1
    out = conv(rand(1, 2, 4, 7))
    assert len(conv._partial_ratio_cache) == 2
    assert conv.partial_ratio(4, 7, "cpu", torch.float64).shape[-2:] == out.shape[-2:] == (4, 7)
    assert conv.partial_ratio(4, 7, "cpu", torch.float32).dtype == torch.float32


def test_partial_ratio_is_not_in_state_dict():
    conv = padded_conv("partial")
    conv(rand(1, 2, 6, 6))
    assert list(conv.state_dict()) == ["weight", "bias"]
    assert [name for name, _ in conv.named_buffers()] == []


# ---------------------------------------------------------------- extra border
@pytest.mark.parametrize("scheme", SCHEMES)
def test_extra_border_grows_output_by_twice_the_border(scheme):
    x = rand(1, 2, 8, 9)
    plain = padded_conv(scheme)
    bordered = set_extra_border(padded_conv(scheme), 3)
    h, w = plain(x).shape[-2:]
    assert bordered(x).shape[-2:] == (h + 6, w + 6)


def test_extra_border_fills_with_the_schemes_own_border():
    x = rand(1, 2, 8, 9)
    zeros = padded_conv("zeros", extra_border=2)
    torch.testing.assert_close(zeros(x), F.conv2d(x, zeros.weight, zeros.bias, padding=3))
    reflect = padded_conv("reflect", extra_border=2)
    expected = F.conv2d(F.pad(x, (3,) * 4, mode="reflect"), reflect.weight, reflect.bias)
    torch.testing.assert_close(reflect(x), expected, rtol=0, atol=1e-12)
    partial = padded_conv("partial", bias=False)
    partial(x)  # fills the cache, which set_extra_border must drop
    set_extra_border(partial, 2)
    count = real_pixel_count(8, 9, 3, 1, 3)
    ratio = np.where(count > 0, 9 / np.maximum(count, 1), 0.0)  # outputs seeing only border: 0
    expected = F.conv2d(x, partial.weight, padding=3) * torch.from_numpy(ratio)
    torch.testing.assert_close(partial(x), expected, rtol=0, atol=1e-12)


def test_set_extra_border_rejects_bad_input():
    with pytest.raises(TypeError, match="PaddedConv2d"):
        set_extra_border(nn.Conv2d(1, 1, 3), 2)
    with pytest.raises(ValueError, match="extra_border"):
        set_extra_border(conv2d(1, 1, 3), -1)


# ---------------------------------------------------------------- pooling
def test_reflect_maxpool_equals_f_pad_then_pool():
    pool = convert_padding(nn.Sequential(nn.MaxPool2d(3, 2, 1)), "reflect")[0]
    assert isinstance(pool, PaddedMaxPool2d)
    x = rand(1, 2, 9, 8)
    expected = F.max_pool2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), 3, 2)
    torch.testing.assert_close(pool(x), expected, rtol=0, atol=0)


@pytest.mark.parametrize("scheme", ["zeros", "partial", "full"])
def test_maxpool_keeps_native_padding(scheme):
    pool = PaddedMaxPool2d(3, 2, 1, scheme=scheme)
    x = rand(1, 2, 9, 8)
    torch.testing.assert_close(pool(x), F.max_pool2d(x, 3, 2, 1), rtol=0, atol=0)


def test_partial_avgpool_ignores_padded_pixels():
    pool = convert_padding(nn.Sequential(nn.AvgPool2d(3, 2, 1)), "partial")[0]
    assert isinstance(pool, PaddedAvgPool2d)
    x = rand(1, 2, 9, 8)
    expected = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
    torch.testing.assert_close(pool(x), expected, rtol=0, atol=1e-12)
    zeros = PaddedAvgPool2d(3, 2, 1, scheme="zeros")
    torch.testing.assert_close(zeros(x), F.avg_pool2d(F.pad(x, (1,) * 4), 3, 2), rtol=0, atol=1e-12)


def test_none_and_valid_pooling():
    x = rand(1, 2, 9, 8)
    none = PaddedMaxPool2d(3, 2, 1, scheme="none")
    resized = F.interpolate(x, size=(11, 10), mode="bilinear", align_corners=False)
    torch.testing.assert_close(none(x), F.max_pool2d(resized, 3, 2), rtol=0, atol=0)
    assert none(x).shape == F.max_pool2d(x, 3, 2, 1).shape
    valid = PaddedAvgPool2d(3, 2, 1, scheme="valid")
    torch.testing.assert_close(valid(x), F.avg_pool2d(x, 3, 2), rtol=0, atol=1e-12)


def test_unpadded_pooling_is_left_alone():
    net = convert_padding(nn.Sequential(nn.MaxPool2d(2), nn.AvgPool2d(2)), "reflect")
    assert type(net[0]) is nn.MaxPool2d and type(net[1]) is nn.AvgPool2d


# ---------------------------------------------------------------- residual blocks
def test_center_pad_to_puts_the_odd_pixel_bottom_right():
    x = torch.ones(1, 1, 2, 2)
    out = center_pad_to(x, (5, 4))
    assert out.shape[-2:] == (5, 4)
    assert torch.equal(out[0, 0, 1:3, 1:3], x[0, 0]) and out.sum() == 4
    with pytest.raises(ValueError, match="smaller"):
        center_pad_to(x, (1, 2))


@pytest.mark.parametrize(
    "block_cls,stride", [("BasicBlock", 1), ("BasicBlock", 2), ("Bottleneck", 2)]
)
def test_full_padding_block_matches_the_torchvision_block_when_sizes_agree(block_cls, stride):
    torch.manual_seed(0)
    cls = getattr(torchvision.models.resnet, block_cls)
    downsample = nn.Sequential(
        nn.Conv2d(8, 4 * cls.expansion, 1, stride), nn.BatchNorm2d(4 * cls.expansion)
    )
    block = cls(8, 4, stride=stride, downsample=downsample).eval()
    wrapped = FullPaddingBlock(block)
    assert list(wrapped.state_dict()) == list(block.state_dict())
    x = torch.randn(2, 8, 8, 8)
    torch.testing.assert_close(wrapped(x), block(x))


# ---------------------------------------------------------------- torchvision models
def light_vgg(arch: str) -> nn.Module:
    """A torchvision VGG with a 10-way classifier: built on the meta device, because
    initialising the 100M-parameter fc layers takes seconds and is irrelevant here."""
    with torch.device("meta"):
        model = getattr(torchvision.models, arch)(weights=None)
        model.classifier = nn.Linear(512 * 7 * 7, 10)
    model.to_empty(device="cpu")
    torch.manual_seed(0)
    for m in model.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return model.eval()


@pytest.fixture(scope="module")
def models() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {
        "resnet18": torchvision.models.resnet18(weights=None).eval(),
        "vgg11_bn": light_vgg("vgg11_bn"),
    }


def last_feature_map(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The output of the last layer before global pooling (ResNet layer4 / VGG features)."""
    layer = model.layer4 if hasattr(model, "layer4") else model.features
    seen = []
    handle = layer.register_forward_hook(lambda mod, inp, out: seen.append(out))
    with torch.no_grad():
        model(x)
    handle.remove()
    return seen[0]


def padded_layers(model: nn.Module) -> list[str]:
    """Names of the convs and pooling layers a scheme must convert."""
    names = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d) and (m.kernel_size != (1, 1) or m.padding != (0, 0)):
            names.append(name)
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) and m.padding not in (0, (0, 0)):
            names.append(name)
    return names


@pytest.mark.parametrize("arch", ["resnet18", "vgg11_bn"])
@pytest.mark.parametrize("scheme", SAME_SIZE_SCHEMES)
def test_convert_same_size_schemes_on_torchvision(models, arch, scheme):
    original = models[arch]
    model = convert_padding(copy.deepcopy(original), scheme)
    modules = dict(model.named_modules())
    expected = padded_layers(original)
    assert expected and all(
        isinstance(modules[n], (PaddedConv2d, PaddedMaxPool2d, PaddedAvgPool2d)) for n in expected
    )
    assert all(modules[n].padding_scheme == scheme for n in expected)
    assert scheme_of(model) == {scheme}
    assert list(model.state_dict()) == list(original.state_dict())
    x = torch.randn(1, 3, 64, 64, generator=seeded())
    assert last_feature_map(model, x).shape == last_feature_map(original, x).shape
    if scheme == "zeros":
        with torch.no_grad():
            torch.testing.assert_close(model(x), original(x), rtol=0, atol=1e-6)


def test_convert_copies_parameters_and_hyperparameters_exactly(models):
    original = models["resnet18"]
    model = convert_padding(copy.deepcopy(original), "reflect")
    for name, conv in original.named_modules():
        if isinstance(conv, nn.Conv2d):
            new = dict(model.named_modules())[name]
            assert torch.equal(new.weight, conv.weight)
            assert (new.stride, new.dilation, new.groups) == (
                conv.stride,
                conv.dilation,
                conv.groups,
            )
            assert isinstance(new, PaddedConv2d) == (conv.kernel_size != (1, 1))
            if isinstance(new, PaddedConv2d):
                assert new.pad_hw == conv.padding


def test_reconverting_switches_the_scheme(models):
    x = torch.randn(1, 3, 64, 64, generator=seeded())
    direct = convert_padding(copy.deepcopy(models["resnet18"]), "circular")
    twice = convert_padding(
        convert_padding(copy.deepcopy(models["resnet18"]), "partial"), "circular"
    )
    assert scheme_of(twice) == {"circular"}
    with torch.no_grad():
        torch.testing.assert_close(twice(x), direct(x), rtol=0, atol=0)


def test_full_resnet_grows_the_last_feature_map(models):
    original = models["resnet18"]
    model = convert_padding(copy.deepcopy(original), "full")
    assert isinstance(model.layer1[0], FullPaddingBlock)
    assert list(model.state_dict()) == list(original.state_dict())
    x = torch.randn(1, 3, 64, 64, generator=seeded())
    h_full, w_full = last_feature_map(model, x).shape[-2:]
    h, w = last_feature_map(original, x).shape[-2:]
    assert h_full > h and w_full > w
    assert model(x).shape == (1, 1000)


def test_full_vgg_grows_by_k_minus_1_per_conv_in_the_first_stage(models):
    model = convert_padding(copy.deepcopy(models["vgg11_bn"]), "full")
    x = torch.randn(1, 3, 32, 32, generator=seeded())
    with torch.no_grad():
        assert model.features[:3](x).shape[-2:] == (34, 34)  # conv, bn, relu


def test_valid_on_a_residual_net_raises(models):
    with pytest.raises(ValueError, match="valid shrinks maps.*plain net"):
        convert_padding(copy.deepcopy(models["resnet18"]), "valid")


def test_valid_on_a_plain_net_shrinks(models):
    model = convert_padding(copy.deepcopy(models["vgg11_bn"]), "valid")
    x = torch.randn(1, 3, 32, 32, generator=seeded())
    with torch.no_grad():
        assert model.features[:3](x).shape[-2:] == (30, 30)


@pytest.mark.parametrize("arch", ["resnet50", "vgg16_bn"])
def test_deep_torchvision_models_keep_their_shapes(arch):
    torch.manual_seed(0)
    original = (
        light_vgg(arch)
        if arch.startswith("vgg")
        else torchvision.models.resnet50(weights=None).eval()
    )
    x = torch.randn(1, 3, 32, 32, generator=seeded())
    reference = last_feature_map(original, x).shape
    for scheme in SAME_SIZE_SCHEMES:
        model = convert_padding(copy.deepcopy(original), scheme)
        assert last_feature_map(model, x).shape == reference, scheme
    assert last_feature_map(convert_padding(original, "full"), x).shape[-1] > reference[-1]


def test_scheme_of_plain_and_mixed_models():
    assert scheme_of(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1))) == {"zeros"}
    assert scheme_of(nn.Sequential(nn.Conv2d(1, 1, 1))) == set()
    mixed = nn.Sequential(
        conv2d(1, 1, 3, scheme="partial"), PaddedMaxPool2d(3, 1, 1, scheme="reflect")
    )
    assert scheme_of(mixed) == {"partial", "reflect"}


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("scheme", SCHEMES)
def test_gradients_reach_every_parameter(scheme):
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.Tanh(),
        nn.MaxPool2d(3, 1, 1),
        nn.Conv2d(4, 4, 3, stride=2, padding=1),
        nn.Tanh(),
        nn.AvgPool2d(3, 1, 1),
        nn.Conv2d(4, 2, 3, padding=1),
    ).double()
    convert_padding(net, scheme)
    assert scheme_of(net) == {scheme}
    out = net(rand(2, 3, 16, 16))
    (out * rand(*out.shape, seed=9)).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_partial_output_that_sees_only_border_is_zero_bias_included():
    conv = padded_conv("partial", extra_border=2)  # pad 3 > kernel reach: corners see no pixel
    out = conv(rand(1, 2, 6, 6))
    assert torch.all(out[..., 0, 0] == 0) and torch.all(out[..., 1, 1] != 0)


# ---------------------------------------------------------------- fast CPU paths
def _grad_pair(fn, ref, x, seed=5):
    """Outputs and input gradients of ``fn`` and ``ref`` for one random upstream gradient."""
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    y1, y2 = fn(x1), ref(x2)
    g = rand(*y2.shape, seed=seed)
    (g1,) = torch.autograd.grad(y1, x1, g)
    (g2,) = torch.autograd.grad(y2, x2, g)
    return y1, y2, g1, g2


@pytest.mark.parametrize("scheme", MODE_SCHEMES)
@pytest.mark.parametrize("hw", [(12, 11), (9, 10), (5, 4), (2, 3)])  # strip and GEMM paths
@pytest.mark.parametrize("pads", [(1, 1, 1, 1), (2, 1, 0, 1)])
def test_pad_border_gradient_equals_f_pad(scheme, hw, pads):
    x = rand(2, 3, *hw, seed=1)
    y1, y2, g1, g2 = _grad_pair(
        lambda t: pad_border(t, pads, scheme), lambda t: F.pad(t, pads, mode=scheme), x
    )
    torch.testing.assert_close(y1, y2, rtol=0, atol=0)
    torch.testing.assert_close(g1, g2, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "scheme,np_mode",
    [("reflect", "reflect"), ("circular", "wrap"), ("replicate", "edge"), ("symmetric", "symmetric")],
)
@pytest.mark.parametrize("hw", [(3, 2), (12, 11)])  # GEMM path (beyond the map) and strip path
@pytest.mark.parametrize("pads", [(3, 1, 4, 2), (1, 1, 1, 1)])
def test_pad_border_gradient_sums_every_copy(scheme, np_mode, hw, pads):
    # the adjoint of padding: each input pixel's value and gradient against numpy.pad's copies
    h, w = hw
    x = rand(1, 2, h, w, seed=2)
    left, right, top, bottom = pads
    index = torch.arange(float(h * w), dtype=torch.float64).view(1, 1, h, w)
    copies = np.pad(index.numpy(), ((0, 0), (0, 0), (top, bottom), (left, right)), mode=np_mode)
    source = torch.from_numpy(copies.reshape(-1)).long()
    x1 = x.clone().requires_grad_(True)
    out = pad_border(x1, pads, scheme)
    torch.testing.assert_close(out.reshape(1, 2, -1), x.reshape(1, 2, -1)[..., source], rtol=0, atol=0)
    g = rand(1, 2, *copies.shape[-2:], seed=3)
    (grad,) = torch.autograd.grad(out, x1, g)
    expected = torch.zeros(1, 2, h * w, dtype=torch.float64)
    expected.index_add_(-1, source, g.reshape(1, 2, -1))
    torch.testing.assert_close(grad, expected.view(1, 2, h, w), rtol=0, atol=1e-12)


@pytest.mark.parametrize("hw", [(12, 11), (9, 10), (5, 4), (1, 1)])  # separable and GEMM paths
@pytest.mark.parametrize("pads", [(1, 1, 1, 1), (2, 2, 0, 0)])
def test_none_resize_matches_interpolate_forward_and_backward(hw, pads):
    conv = padded_conv("none")
    x = rand(2, 2, *hw, seed=4)
    size = (hw[0] + pads[2] + pads[3], hw[1] + pads[0] + pads[1])
    from padpos.padding import _resize_by

    y1, y2, g1, g2 = _grad_pair(
        lambda t: _resize_by(t, pads),
        lambda t: F.interpolate(t, size=size, mode="bilinear", align_corners=False),
        x,
    )
    torch.testing.assert_close(y1, y2, rtol=0, atol=1e-12)
    torch.testing.assert_close(g1, g2, rtol=0, atol=1e-12)
    assert conv(x).shape[-2:] == (hw[0] + 2 - 2, hw[1] + 2 - 2)


def test_fast_paths_work_in_float32_and_under_inference_mode():
    # cached index / matrix tensors made under inference mode must still serve autograd
    from padpos.padding import _border_indices, _pad_matrix, _resize_matrix

    for fn in (_border_indices, _pad_matrix, _resize_matrix):
        fn.cache_clear()
    net = convert_padding(torchvision.models.resnet18(num_classes=3), "reflect").eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        reference = net(x)
    with torch.no_grad():
        torch.testing.assert_close(net(x), reference, rtol=0, atol=0)
    net.train()
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())


# ------------------------------------------------ fused pad + conv (CPU training)
@pytest.mark.parametrize("scheme", (*MODE_SCHEMES, "symmetric"))
@pytest.mark.parametrize(
    "hw,kernel,stride,dilation,groups,pads",
    [
        ((10, 9), 3, 1, 1, 1, (1, 1, 1, 1)),
        ((11, 12), 3, 2, 1, 2, (1, 1, 1, 1)),  # odd / even maps at stride 2, grouped
        ((12, 12), 5, 2, 1, 1, (2, 2, 2, 2)),
        ((9, 13), 3, 2, 3, 1, (3, 3, 3, 3)),  # dilated
        ((10, 10), 3, 1, 1, 1, (3, 1, 4, 2)),  # unequal sides
        ((3, 3), 3, 1, 1, 1, (5, 5, 5, 5)),  # pad beyond the map: repeated copies
    ],
)
def test_fused_pad_conv_equals_padding_then_valid_conv(
    scheme, hw, kernel, stride, dilation, groups, pads
):
    from padpos.padding import _FusedPadConv, _PAD_MODES, _pad_values

    mode = _PAD_MODES[scheme]
    x = rand(2, 4, *hw, seed=11)
    weight = rand(6, 4 // groups, kernel, kernel, seed=12)
    bias = rand(6, seed=13)
    inputs = [t.clone().requires_grad_(True) for t in (x, weight, bias)]
    ref_inputs = [t.clone().requires_grad_(True) for t in (x, weight, bias)]
    out = _FusedPadConv.apply(*inputs, pads, mode, (stride, stride), (dilation, dilation), groups)
    xr, wr, br = ref_inputs
    ref = F.conv2d(_pad_values(xr, pads, mode), wr, br, stride, 0, dilation, groups)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    g = rand(*ref.shape, seed=14)
    got = torch.autograd.grad(out, inputs, g)
    for value, want in zip(got, torch.autograd.grad(ref, ref_inputs, g)):
        torch.testing.assert_close(value, want, rtol=0, atol=1e-10)


def test_fused_pad_conv_passes_gradcheck():
    from padpos.padding import _FusedPadConv

    x = rand(1, 2, 5, 6, seed=15).requires_grad_(True)
    weight = rand(3, 2, 3, 3, seed=16).requires_grad_(True)
    bias = rand(3, seed=17).requires_grad_(True)
    for mode in ("reflect", "circular", "replicate", "symmetric"):
        assert torch.autograd.gradcheck(
            lambda a, w, b: _FusedPadConv.apply(a, w, b, (2, 1, 1, 2), mode, (1, 1), (1, 1), 1),
            (x, weight, bias),
        )


@pytest.mark.parametrize("scheme", (*MODE_SCHEMES, "symmetric"))
def test_padded_conv_trains_through_the_fused_node_with_unchanged_gradients(scheme):
    conv = padded_conv(scheme)
    x = rand(2, 2, 10, 10, seed=18).requires_grad_(True)  # 100 px: above the GEMM-padded maps
    out = conv(x)
    assert type(out.grad_fn).__name__ == "_FusedPadConvBackward"
    g = rand(*out.shape, seed=19)
    got = torch.autograd.grad(out, (x, conv.weight), g)
    x2 = x.detach().clone().requires_grad_(True)
    mode = "replicate" if scheme == "symmetric" else scheme  # the same for a 1-pixel border
    ref = F.conv2d(F.pad(x2, conv.side_pads(), mode=mode), conv.weight)
    if conv.bias is not None:
        ref = ref + conv.bias.view(1, -1, 1, 1)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    want = torch.autograd.grad(ref, (x2, conv.weight), g)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-10)
    with torch.no_grad():  # evaluation keeps the plain path, same values
        torch.testing.assert_close(conv(x), out.detach(), rtol=0, atol=0)


def test_fused_pad_conv_refuses_double_backward_rather_than_dropping_a_term():
    conv = padded_conv("reflect")
    x = rand(1, 2, 10, 10, seed=20).requires_grad_(True)
    out = conv(x)
    assert type(out.grad_fn).__name__ == "_FusedPadConvBackward"
    (grad_w,) = torch.autograd.grad(out.sum(), conv.weight, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|does not require grad"):
        torch.autograd.grad(grad_w.pow(2).sum(), x)


@pytest.mark.parametrize("scheme", ("reflect", "circular"))
def test_mode_padded_conv_keeps_working_under_cpu_autocast_and_torch_func(scheme):
    conv = padded_conv(scheme).float()
    x = rand(2, 2, 10, 10, seed=21).float().requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # a bf16 gradient meets a float32 map
        out = conv(x)
    out.float().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    # gradients by torch.func with respect to the weights (x needs no grad there)
    from torch.func import functional_call, grad

    params = {k: v.detach() for k, v in conv.named_parameters()}
    grads = grad(lambda p: functional_call(conv, p, (x.detach(),)).sum())(params)
    conv.zero_grad()
    conv(x.detach()).sum().backward()
    torch.testing.assert_close(grads["weight"], conv.weight.grad)
