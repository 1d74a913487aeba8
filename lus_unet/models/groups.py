"""Named parameter groups and freezing strategies (the paper's fine-tuning axis)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from torch import nn

from lus_unet.errors import ConfigError

log = logging.getLogger(__name__)

PARAMETER_GROUPS = ("encoder", "bottleneck", "decoder", "head")


@dataclass(frozen=True)
class GroupCount:
    """Parameter counts of one group."""

    name: str
    total: int
    trainable: int

    @property
    def frozen(self) -> int:
        return self.total - self.trainable


def group_counts(model: nn.Module) -> list[GroupCount]:
    """Total and trainable parameters per named group, in :data:`PARAMETER_GROUPS` order."""
    counts = []
    for name in PARAMETER_GROUPS:
        params = list(getattr(model, name).parameters())
        counts.append(
            GroupCount(
                name,
                total=sum(p.numel() for p in params),
                trainable=sum(p.numel() for p in params if p.requires_grad),
            )
        )
    return counts


def hold_frozen_norm_statistics(model: nn.Module) -> None:
    """Keep the running statistics of frozen normalisation layers fixed.

    Freezing a batch-norm layer's scale and shift does not stop it from updating its running
    mean and variance in training mode (and normalising with the batch's statistics instead
    of them). So, while ``model`` is in training mode, every layer with running statistics
    whose parameters are all frozen is put in eval mode (it then uses and keeps its stored
    statistics, e.g. ImageNet's in a frozen ``vgg16_bn`` encoder); the others follow
    ``model``'s mode. Layers without running statistics (group norm, MONAI's and this
    package's instance norm) behave the same in both modes and are left alone.
    """
    if not model.training:
        return
    for module in model.modules():
        if getattr(module, "track_running_stats", False):
            params = list(module.parameters(recurse=False))
            module.train(not params or any(p.requires_grad for p in params))


class HoldsFrozenNormStatistics(nn.Module):
    """Mixin for the networks: ``train()`` re-applies :func:`hold_frozen_norm_statistics`,
    so that Lightning's ``model.train()`` at every epoch does not wake frozen batch norms."""

    def train(self, mode: bool = True) -> HoldsFrozenNormStatistics:
        super().train(mode)
        hold_frozen_norm_statistics(self)
        return self


def freeze_groups(model: nn.Module, frozen: Iterable[str]) -> None:
    """Make every parameter trainable, then freeze the named groups.

    Normalisation layers with running statistics (batch norm) in a frozen group stop
    updating them as well (:func:`hold_frozen_norm_statistics`).

    Args:
        model: a network with ``encoder``, ``bottleneck``, ``decoder`` and ``head`` attributes.
        frozen: group names to freeze.

    Raises:
        ConfigError: for an unknown group name, or a group that has no parameters in this
            model (freezing it would silently change nothing).
    """
    frozen = list(frozen)
    unknown = [name for name in frozen if name not in PARAMETER_GROUPS]
    if unknown:
        raise ConfigError(
            f"finetune.freeze: unknown parameter group(s) {unknown}; "
            f"valid groups: {', '.join(PARAMETER_GROUPS)}"
        )
    model.requires_grad_(True)
    for name in frozen:
        group = getattr(model, name)
        if not any(True for _ in group.parameters()):
            raise ConfigError(
                f"finetune.freeze: group '{name}' of {type(model).__name__} has no parameters, "
                "so freezing it would change nothing (V-UNet's bottleneck is VGG16's conv5 "
                "block, inside the encoder group)"
            )
        group.requires_grad_(False)
    hold_frozen_norm_statistics(model)
    if frozen:
        n_frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
        log.info("Froze %s: %s parameters", ", ".join(frozen), f"{n_frozen:,}")
        held = sum(
            getattr(m, "track_running_stats", False) and not m.training for m in model.modules()
        )
        if held and model.training:
            log.info(
                "%d frozen batch-norm layer(s) stay in eval mode: their running statistics "
                "stay fixed (Lightning reports them as modules in eval mode)",
                held,
            )
