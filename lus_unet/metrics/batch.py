"""Per-image overlap metrics of a batch of hard masks, computed on the device (no host sync)."""

from __future__ import annotations

import torch

EPSILON = 1e-6


def binarize(logits: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Hard mask from logits: sigmoid(logits) > threshold.

    Args:
        logits: network outputs of any shape.
        threshold: probability above which a pixel is foreground.
    """
    return (torch.sigmoid(logits) > threshold).to(logits.dtype)


def dice_per_image(pred: torch.Tensor, target: torch.Tensor, eps: float = EPSILON) -> torch.Tensor:
    """The paper's eq. 2 per image: (2|P∩G| + eps) / (|P| + |G| + eps), shape (N,).

    Both masks empty gives 1 (a correct "no rib"); one empty gives ~0.

    Args:
        pred: hard predicted masks, (N, ...).
        target: ground-truth masks of the same shape.
        eps: smoothing added to numerator and denominator.
    """
    intersection, total = _overlap(pred, target)
    return (2 * intersection + eps) / (total + eps)


def iou_per_image(pred: torch.Tensor, target: torch.Tensor, eps: float = EPSILON) -> torch.Tensor:
    """Jaccard index per image: (|P∩G| + eps) / (|P∪G| + eps), shape (N,).

    Args: as :func:`dice_per_image`.
    """
    intersection, total = _overlap(pred, target)
    return (intersection + eps) / (total - intersection + eps)


def _overlap(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: |P∩G| and |P| + |G|."""
    dims = tuple(range(1, pred.ndim))
    return (pred * target).sum(dims), pred.sum(dims) + target.sum(dims)
