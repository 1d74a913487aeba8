"""Architectures: exact parameter counts (DESIGN §2), shapes, options and the summary table."""

from __future__ import annotations

import itertools

import pytest
import torch
from conftest import compose_config
from torch import nn
from torchvision.models import vgg16, vgg16_bn

from lus_unet.errors import ConfigError
from lus_unet.models import ACTIVATIONS, NORMS, VUNet, XUNet, build_model, group_counts
from lus_unet.models.blocks import ConvStack, group_norm_groups
from lus_unet.models.vunet import VGG_TRUNKS, VGGEncoder
from lus_unet.summary import summarize, summary_table

NORM_LAYER = {"batch": nn.BatchNorm2d, "instance": nn.InstanceNorm2d, "group": nn.GroupNorm}
ACTIVATION_LAYER = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU}


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_xunet_parameter_counts_match_the_paper() -> None:
    model = XUNet()
    assert n_params(model) == 31_031_745
    assert n_params(model.bottleneck) == 14_157_824


def test_vunet_parameter_counts_match_the_paper() -> None:
    model = VUNet()
    assert n_params(model) == 28_804_545
    assert n_params(model.encoder) == 14_714_688


def test_vunet_authors_code_decoder_variant() -> None:
    assert n_params(VUNet(decoder_convs=(2, 2, 2, 2))) == 25_854_657


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_norm_none_keeps_the_paper_counts_and_checkpoint_keys(activation: str) -> None:
    xunet = XUNet(norm="none", activation=activation)
    assert n_params(xunet) == 31_031_745
    assert n_params(xunet.bottleneck) == 14_157_824
    vunet = VUNet(norm="none", activation=activation)
    assert n_params(vunet) == 28_804_545
    assert n_params(vunet.encoder) == 14_714_688
    assert n_params(VUNet(decoder_convs=(2, 2, 2, 2), activation=activation)) == 25_854_657
    # conv, activation, conv, activation: the state-dict keys of existing checkpoints
    assert list(ConvStack(3, 4, activation=activation).state_dict()) == [
        "0.weight",
        "0.bias",
        "2.weight",
        "2.bias",
    ]


def conv_stacks(module: nn.Module) -> list[ConvStack]:
    return [m for m in module.modules() if isinstance(m, ConvStack)]


def check_stacks(stacks: list[ConvStack], norm: str, activation: str) -> None:
    """Every step is conv -> [norm ->] activation; the conv has a bias only without a norm."""
    step = 2 if norm == "none" else 3
    for stack in stacks:
        layers = list(stack)
        assert len(layers) % step == 0
        for i in range(0, len(layers), step):
            conv, *norm_layer, act = layers[i : i + step]
            assert isinstance(conv, nn.Conv2d)
            assert (conv.bias is None) == (norm != "none")
            assert type(act) is ACTIVATION_LAYER[activation]
            if norm != "none":
                assert type(norm_layer[0]) is NORM_LAYER[norm]
                assert sum(p.numel() for p in norm_layer[0].parameters()) == 2 * conv.out_channels


def count(module: nn.Module, kind: type[nn.Module]) -> int:
    return sum(type(m) is kind for m in module.modules())


@pytest.mark.parametrize(("norm", "activation"), list(itertools.product(NORMS, ACTIVATIONS)))
def test_xunet_norm_and_activation_options(norm: str, activation: str) -> None:
    torch.manual_seed(0)
    model = build_model("xunet", base_channels=4, norm=norm, activation=activation)
    n_convs = 4 * 2 + 2 + 4 * 2  # encoder, bottleneck, decoder (2 convs per level)
    stacks = conv_stacks(model)
    assert sum(isinstance(m, nn.Conv2d) for s in stacks for m in s) == n_convs
    check_stacks(stacks, norm, activation)
    for kind in NORM_LAYER.values():
        assert count(model, kind) == (n_convs if kind is NORM_LAYER.get(norm) else 0)
    for name, kind in ACTIVATION_LAYER.items():
        assert count(model, kind) == (n_convs if name == activation else 0)
    assert model.head.bias is not None
    out = model(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, 1, 32, 32)
    assert torch.isfinite(out).all()
    out.mean().backward()


@pytest.mark.parametrize(("norm", "activation"), list(itertools.product(NORMS, ACTIVATIONS)))
def test_vunet_decoder_norm_and_activation_options(norm: str, activation: str) -> None:
    torch.manual_seed(0)
    model = build_model(
        "vunet", decoder_convs=[3, 2, 2, 1], encoder_weights=None, norm=norm, activation=activation
    )
    n_convs = 3 + 2 + 2 + 1
    check_stacks(conv_stacks(model.decoder), norm, activation)
    assert conv_stacks(model.encoder) == []  # the trunk is VGG16's own, untouched
    assert count(model.encoder, nn.ReLU) == 13
    for kind in NORM_LAYER.values():
        assert count(model, kind) == (n_convs if kind is NORM_LAYER.get(norm) else 0)
    assert count(model.decoder, ACTIVATION_LAYER[activation]) == n_convs
    model.eval()  # VGG at full width: keep it quick
    with torch.no_grad():
        out = model(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, 1, 32, 32)
    assert torch.isfinite(out).all()


def test_option_details_instance_affine_leaky_slope_group_count() -> None:
    model = XUNet(base_channels=4, norm="instance", activation="leaky_relu")
    instance = next(m for m in model.modules() if isinstance(m, nn.InstanceNorm2d))
    assert instance.affine and not instance.track_running_stats
    leaky = next(m for m in model.modules() if isinstance(m, nn.LeakyReLU))
    assert leaky.negative_slope == 0.1
    groups = [m for m in XUNet(base_channels=4, norm="group").modules() if type(m) is nn.GroupNorm]
    assert {(g.num_channels, g.num_groups) for g in groups} == {
        (4, 2),
        (8, 4),
        (16, 8),
        (32, 8),
        (64, 8),
    }
    assert [group_norm_groups(c) for c in (1, 2, 3, 6, 12, 64, 1024)] == [1, 1, 1, 3, 6, 8, 8]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"name": "xunet", "norm": "layer"},
            "model.norm=layer: unknown value; valid: none, batch, instance, group",
        ),
        (
            {"name": "xunet", "activation": "gelu"},
            "model.activation=gelu: unknown value; valid: relu, leaky_relu",
        ),
        (
            {"name": "vunet", "norm": "batchnorm", "encoder_weights": None},
            "model.norm=batchnorm: unknown value; valid: none, batch, instance, group",
        ),
        (
            {"name": "vunet", "activation": "prelu", "encoder_weights": None},
            "model.activation=prelu: unknown value; valid: relu, leaky_relu",
        ),
        (
            {"name": "vunet", "encoder": "resnet50", "encoder_weights": None},
            "model.encoder=resnet50: unknown value; valid: vgg16, vgg16_bn",
        ),
    ],
)
def test_unknown_option_values_are_one_line_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_model(**options)
    assert str(info.value) == message


def test_vgg_taps_are_the_relus_before_each_pool_and_vgg16_bn_builds() -> None:
    for name, factory in (("vgg16", vgg16), ("vgg16_bn", vgg16_bn)):
        features = factory(weights=None).features
        before_pools = [
            i - 1 for i, layer in enumerate(features) if isinstance(layer, nn.MaxPool2d)
        ]
        assert VGG_TRUNKS[name].taps == tuple(before_pools)
        assert all(isinstance(features[i], nn.ReLU) for i in before_pools)
        # the trunk is torchvision's features (keys, shapes) up to relu5_3
        ours = VGGEncoder(name).features.state_dict()
        assert {k: v.shape for k, v in ours.items()} == {
            k: v.shape for k, v in features.state_dict().items()
        }
    model = VUNet(encoder="vgg16_bn", decoder_convs=(2, 2, 2, 2))
    assert count(model.encoder, nn.BatchNorm2d) == 13
    assert len(model.encoder.features) == 43  # up to relu5_3; pool5 unused
    features = model.encoder(torch.rand(1, 3, 32, 32))
    assert [f.shape[1] for f in features] == [64, 128, 256, 512, 512]
    assert [f.shape[-1] for f in features] == [32, 16, 8, 4, 2]
    assert n_params(model.encoder) == 14_723_136
    assert model(torch.rand(1, 3, 32, 32)).shape == (1, 1, 32, 32)


def test_groups_partition_all_parameters() -> None:
    models = (
        XUNet(base_channels=8),
        XUNet(base_channels=4, norm="batch"),
        VUNet(),
        VUNet(encoder="vgg16_bn", norm="group"),
    )
    for model in models:
        assert sum(c.total for c in group_counts(model)) == n_params(model)


@pytest.mark.parametrize("size", [(32, 32), (64, 48)])
def test_forward_returns_one_logit_map_at_input_size(size: tuple[int, int]) -> None:
    x = torch.rand(2, 3, *size)
    for model in (XUNet(base_channels=4), VUNet(decoder_convs=(2, 2, 2, 2))):
        out = model(x)
        assert out.shape == (2, 1, *size)


def test_vunet_skips_are_the_design_taps() -> None:
    features = VUNet().encoder(torch.rand(1, 3, 32, 32))
    assert [f.shape[1] for f in features] == [64, 128, 256, 512, 512]
    assert [f.shape[-1] for f in features] == [32, 16, 8, 4, 2]


def test_xunet_width_option_scales_filters() -> None:
    small = XUNet(base_channels=8)
    assert small.encoder.out_channels == [8, 16, 32, 64]
    assert n_params(small) < n_params(XUNet()) / 50


def test_xunet_refuses_a_decoder_of_another_depth() -> None:
    # Unknown names and options are the config schema's (test_config_schema.py).
    with pytest.raises(ValueError, match="one entry per decoder level"):
        build_model("xunet", decoder_convs=[2, 2])


def test_summary_table_shows_exact_totals() -> None:
    table = summary_table(group_counts(VUNet()))
    assert "28,804,545" in table
    assert "14,714,688" in table
    table = summary_table(group_counts(XUNet()))
    assert "31,031,745" in table
    assert "14,157,824" in table


def test_summary_builds_the_options_and_shows_them() -> None:
    cfg = compose_config(
        "summary",
        "model=vunet",
        "model.encoder=vgg16_bn",
        "model.norm=instance",
        "model.activation=leaky_relu",
        "finetune=encoder_frozen",
    )
    text = summarize(cfg)
    assert "encoder=vgg16_bn" in text
    assert "norm=instance activation=leaky_relu" in text
    assert "14,723,136" in text  # the frozen VGG16-BN trunk
    with pytest.raises(ConfigError, match=r"^model\.norm=layer: unknown value"):
        summarize(compose_config("summary", "model.norm=layer"))
