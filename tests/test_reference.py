"""The reference U-Net (DESIGN §6): MONAI's BasicUNet, regrouped, with identical outputs."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import torch
from torch import nn

from lus_unet.errors import ConfigError
from lus_unet.models import PARAMETER_GROUPS, ReferenceUNet, build_model, group_counts

needs_monai = pytest.mark.skipif(
    importlib.util.find_spec("monai") is None, reason="MONAI (the compare extra) not installed"
)

FEATURES = [16, 16, 32, 64, 128, 16]


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def basic_unet() -> nn.Module:
    """MONAI's own BasicUNet with the design's arguments."""
    from monai.networks.nets import BasicUNet

    return BasicUNet(spatial_dims=2, in_channels=1, out_channels=1, features=FEATURES)


@needs_monai
def test_reference_is_basic_unet_with_the_design_features() -> None:
    model = build_model("reference", features=FEATURES)
    assert isinstance(model, ReferenceUNet)
    assert n_params(model) == 495_905  # "about 0.5 M parameters"
    monai_net = basic_unet()
    assert n_params(model) == n_params(monai_net)
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in model.modules()) == 18
    leaky = [m for m in model.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(leaky) == 18 and all(m.negative_slope == 0.1 for m in leaky)
    assert model.head.in_channels == 16 and model.head.out_channels == 1
    assert model.encoder["conv_0"].conv_0.conv.in_channels == 1


@needs_monai
def test_reference_output_equals_monai_basic_unet_with_the_same_weights() -> None:
    torch.manual_seed(0)
    model = build_model("reference").eval()
    torch.manual_seed(1)
    monai_net = basic_unet().eval()
    x = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        assert not torch.allclose(model(x), monai_net(x[:, :1]))  # different weights so far
        monai_net.load_state_dict(model.basic_unet_state_dict(), strict=True)
        ours, theirs = model(x), monai_net(x[:, :1])
    assert ours.shape == (2, 1, 32, 48)
    assert torch.equal(ours, theirs)


@needs_monai
def test_reference_reads_the_first_channel_only() -> None:
    model = build_model("reference").eval()
    x = torch.rand(1, 3, 32, 32)
    y = x.clone()
    y[:, 1:] = torch.rand(1, 2, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), model(y))
        assert torch.equal(model(x), model(x[:, :1]))


@needs_monai
def test_reference_groups_partition_its_parameters() -> None:
    model = build_model("reference")
    counts = {c.name: c.total for c in group_counts(model)}
    assert list(counts) == list(PARAMETER_GROUPS)
    assert all(counts.values())
    assert sum(counts.values()) == n_params(model)
    assert counts["bottleneck"] == n_params(model.bottleneck) == 221_952
    assert counts["head"] == 17


@needs_monai
def test_reference_rejects_bad_features() -> None:
    # Options it does not take are the config schema's (test_config_schema.py).
    with pytest.raises(ConfigError, match=r"model\.features=\[16, 16, 32\]: needs six"):
        build_model("reference", features=[16, 16, 32])


def test_missing_monai_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("monai", "monai.networks", "monai.networks.nets"):
        monkeypatch.setitem(sys.modules, name, None)  # import now fails as if not installed
    with pytest.raises(ConfigError) as info:
        build_model("reference")
    assert str(info.value) == (
        "model=reference needs MONAI: pip install 'lus_unet[compare]' (or make setup)"
    )
