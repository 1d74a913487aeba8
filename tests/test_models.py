"""Architectures: exact parameter counts (DESIGN §2), shapes, options and the summary table."""

from __future__ import annotations

import pytest
import torch

from lus_unet.errors import ConfigError
from lus_unet.models import VUNet, XUNet, build_model, group_counts
from lus_unet.summary import summary_table


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


def test_groups_partition_all_parameters() -> None:
    for model in (XUNet(base_channels=8), VUNet()):
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


def test_build_model_rejects_unknown_names_and_options() -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'resnet'.*xunet, vunet"):
        build_model("resnet")
    with pytest.raises(ConfigError, match=r"unknown option.*encoder_weights"):
        build_model("xunet", encoder_weights="imagenet")
    with pytest.raises(ValueError, match="one entry per decoder level"):
        build_model("xunet", decoder_convs=[2, 2])


def test_summary_table_shows_exact_totals() -> None:
    table = summary_table(group_counts(VUNet()))
    assert "28,804,545" in table
    assert "14,714,688" in table
    table = summary_table(group_counts(XUNet()))
    assert "31,031,745" in table
    assert "14,157,824" in table
