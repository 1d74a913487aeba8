"""Prediction overlays, and grids of frame, ground truth and overlay side by side (TensorBoard)."""

from __future__ import annotations

import torch
from torchvision.utils import make_grid


def overlay(frame: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
    """RGB overlay of a (1, H, W) frame: true positives yellow, misses green, false alarms red.

    Args:
        frame: the frame in [0, 1], (1, H, W).
        mask: the ground-truth mask, (1, H, W), 0/1.
        pred: the predicted mask, (1, H, W), 0/1.
    """
    gray = frame.clamp(0, 1).expand(3, -1, -1)
    colour = torch.stack([pred, mask, torch.zeros_like(mask)]).squeeze(1)
    alpha = 0.45 * torch.maximum(mask, pred)
    return gray * (1 - alpha) + colour * alpha


def overlay_grid(frames: torch.Tensor, masks: torch.Tensor, preds: torch.Tensor) -> torch.Tensor:
    """A (3, H', W') grid with one row per frame: frame, ground truth, prediction overlay.

    Args:
        frames: frames in [0, 1], (N, 1, H, W).
        masks: ground-truth masks, (N, 1, H, W).
        preds: predicted masks, (N, 1, H, W).
    """
    tiles = []
    for frame, mask, pred in zip(frames.float(), masks.float(), preds.float(), strict=True):
        tiles += [frame.expand(3, -1, -1), mask.expand(3, -1, -1), overlay(frame, mask, pred)]
    return make_grid(torch.stack(tiles).cpu(), nrow=3, padding=2, pad_value=1.0)
