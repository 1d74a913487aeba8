"""Segmentation losses on logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LOSS_NAMES = ("dice", "bce", "bce_dice", "dice_ce")


def soft_dice(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """Soft Dice of the sigmoid output over the whole batch, with additive smoothing.

    The authors' Keras code flattens the batch and smooths with 1; this does the same.
    """
    probs = torch.sigmoid(logits).flatten()
    target = target.flatten()
    return (2 * (probs * target).sum() + smooth) / (probs.sum() + target.sum() + smooth)


def soft_dice_per_image(
    logits: torch.Tensor, target: torch.Tensor, smooth: float = 1e-5
) -> torch.Tensor:
    """Soft Dice of the sigmoid output per image and channel, shape ``(batch, channels)``.

    MONAI's ``DiceLoss(sigmoid=True)`` computes one minus this (``smooth_nr = smooth_dr =
    1e-5``): sums over the spatial axes only, so an image whose mask and prediction are both
    empty scores about 1 instead of being drowned in the rest of the batch.
    """
    probs = torch.sigmoid(logits.float())
    target = target.to(probs.dtype)
    spatial = tuple(range(2, probs.ndim))
    intersection = (probs * target).sum(spatial)
    total = probs.sum(spatial) + target.sum(spatial)
    return (2 * intersection + smooth) / (total + smooth)


class SegmentationLoss(nn.Module):
    """A loss selected by name.

    Args:
        name: ``dice`` (the authors' negative soft Dice, shifted by one so that it is >= 0:
            ``1 - soft_dice``, same gradients), ``bce`` (binary cross-entropy on logits) or
            ``bce_dice`` (their sum); or ``dice_ce``, the reference U-Net's loss (MONAI's
            ``DiceCELoss(sigmoid=True)`` with its default weights for one output channel,
            without needing MONAI):
            ``1 - mean(soft_dice_per_image)`` plus the mean binary cross-entropy on logits.
    """

    def __init__(self, name: str = "dice") -> None:
        super().__init__()
        if name not in LOSS_NAMES:  # the config schema refuses it first, naming the key
            raise ValueError(f"unknown loss '{name}'; valid: {', '.join(LOSS_NAMES)}")
        self.name = name

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.name == "dice_ce":
            dice_term = 1 - soft_dice_per_image(logits, target).mean()
            return dice_term + F.binary_cross_entropy_with_logits(logits, target)
        dice_term = 1 - soft_dice(logits, target) if "dice" in self.name else 0
        bce_term = F.binary_cross_entropy_with_logits(logits, target) if "bce" in self.name else 0
        return dice_term + bce_term
