"""Freezing: frozen tensors never move, trainable ones do, Adam never sees the frozen ones."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch import nn

from lus_unet.errors import ConfigError
from lus_unet.models import PARAMETER_GROUPS, VUNet, XUNet, build_model, freeze_groups
from lus_unet.training.module import SegmentationModule

needs_monai = pytest.mark.skipif(
    importlib.util.find_spec("monai") is None, reason="MONAI (the compare extra) not installed"
)


def one_optimizer_step(module: SegmentationModule) -> torch.optim.Optimizer:
    optimizer = module.configure_optimizers()
    x = torch.rand(2, 3, 32, 32)
    mask = (torch.rand(2, 1, 32, 32) > 0.5).float()
    loss = module.criterion(module(x), mask)
    loss.backward()
    optimizer.step()
    return optimizer


@pytest.mark.parametrize(
    ("model_factory", "frozen"),
    [
        (lambda: XUNet(base_channels=4), ["bottleneck"]),
        (lambda: XUNet(base_channels=4), ["encoder", "head"]),
        (lambda: VUNet(decoder_convs=(2, 2, 2, 2)), ["encoder"]),
        (lambda: XUNet(base_channels=4, norm="group", activation="leaky_relu"), ["encoder"]),
        pytest.param(lambda: build_model("reference"), ["bottleneck"], marks=needs_monai),
        pytest.param(lambda: build_model("reference"), ["encoder", "decoder"], marks=needs_monai),
    ],
)
def test_frozen_groups_do_not_change_and_the_rest_do(model_factory, frozen) -> None:
    torch.manual_seed(0)
    net = model_factory()
    freeze_groups(net, frozen)
    module = SegmentationModule(net, loss="bce_dice", lr=1e-2)
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    optimizer = one_optimizer_step(module)

    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    for name, param in net.named_parameters():
        group = name.split(".")[0]
        if group in frozen:
            assert not param.requires_grad
            assert id(param) not in in_optimizer, f"{name} is frozen but in the optimizer"
            assert torch.equal(param, before[name]), f"frozen {name} changed"
        else:
            assert id(param) in in_optimizer
    changed = [n for n, p in net.named_parameters() if not torch.equal(p, before[n])]
    trainable_groups = {n.split(".")[0] for n in changed}
    with_parameters = {
        g for g in PARAMETER_GROUPS if any(True for _ in getattr(net, g).parameters())
    }
    assert trainable_groups == with_parameters - set(frozen)


def test_freeze_resets_previous_freezing() -> None:
    net = XUNet(base_channels=4)
    freeze_groups(net, ["encoder"])
    freeze_groups(net, [])
    assert all(p.requires_grad for p in net.parameters())


def test_unknown_group_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown parameter group.*'decoderr'.*encoder"):
        freeze_groups(XUNet(base_channels=4), ["decoderr"])


def test_freezing_vunet_bottleneck_is_an_error_not_a_no_op() -> None:
    with pytest.raises(ConfigError, match="'bottleneck' of VUNet has no parameters"):
        freeze_groups(VUNet(decoder_convs=(2, 2, 2, 2)), ["bottleneck"])


def batch_norms(module: nn.Module) -> list[nn.BatchNorm2d]:
    return [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]


def test_frozen_batch_norms_keep_their_running_statistics() -> None:
    """A frozen vgg16_bn encoder keeps its (ImageNet) statistics while the decoder's batch
    norms learn theirs, and Lightning's ``train()`` at each epoch does not undo that."""
    torch.manual_seed(0)
    net = VUNet(decoder_convs=(1, 1, 1, 1), encoder="vgg16_bn", norm="batch")
    freeze_groups(net, ["encoder"])
    module = SegmentationModule(net, loss="bce_dice", lr=1e-2)
    module.train()
    assert not any(bn.training for bn in batch_norms(net.encoder))
    assert all(bn.training for bn in batch_norms(net.decoder))
    before = {name: b.clone() for name, b in net.named_buffers()}
    one_optimizer_step(module)
    for name, buffer in net.named_buffers():
        if name.startswith("encoder."):
            assert torch.equal(buffer, before[name]), f"frozen {name} changed"
    assert not torch.equal(
        net.decoder.levels[0].convs[1].running_mean, before["decoder.levels.0.convs.1.running_mean"]
    )
    freeze_groups(net, [])  # unfrozen: the encoder's batch norms learn again
    assert all(bn.training for bn in batch_norms(net))
    net.eval()
    assert not any(bn.training for bn in batch_norms(net))
