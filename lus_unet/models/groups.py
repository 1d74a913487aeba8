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


def freeze_groups(model: nn.Module, frozen: Iterable[str]) -> None:
    """Make every parameter trainable, then freeze the named groups.

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
    if frozen:
        n_frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
        log.info("Froze %s: %s parameters", ", ".join(frozen), f"{n_frozen:,}")
