"""Segmentation losses on logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lus_unet.errors import ConfigError

LOSS_NAMES = ("dice", "bce", "bce_dice")


def soft_dice(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """Soft Dice of the sigmoid output over the whole batch, with additive smoothing.

    The authors' Keras code flattens the batch and smooths with 1; this does the same.
    """
    probs = torch.sigmoid(logits).flatten()
    target = target.flatten()
    return (2 * (probs * target).sum() + smooth) / (probs.sum() + target.sum() + smooth)


class SegmentationLoss(nn.Module):
    """A loss selected by name.

    Args:
        name: ``dice`` (the authors' negative soft Dice, shifted by one so that it is >= 0:
            ``1 - soft_dice``, same gradients), ``bce`` (binary cross-entropy on logits) or
            ``bce_dice`` (their sum).
    """

    def __init__(self, name: str = "dice") -> None:
        super().__init__()
        if name not in LOSS_NAMES:
            raise ConfigError(f"loss: unknown loss '{name}'; valid: {', '.join(LOSS_NAMES)}")
        self.name = name

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        dice_term = 1 - soft_dice(logits, target) if "dice" in self.name else 0
        bce_term = F.binary_cross_entropy_with_logits(logits, target) if "bce" in self.name else 0
        return dice_term + bce_term
