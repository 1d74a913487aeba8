"""Overlap of one predicted mask with its ground truth: Dice, IoU, precision and recall.

Dice and IoU delegate to :mod:`lus_unet.metrics.batch`, so evaluation and the training logs
agree to the last digit; exactly one empty mask gives exactly 0 rather than the
epsilon-smoothed near-zero. Empty masks: see :mod:`lus_unet.metrics`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from lus_unet.metrics.batch import dice_per_image, iou_per_image
from lus_unet.metrics.masks import as_pair

PerImage = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def dice(pred: Any, target: Any) -> float:
    """Dice by the paper's eq. 2: (2|P∩G| + eps) / (|P| + |G| + eps), eps = 1e-6.

    Exactly one mask empty gives exactly 0, both empty 1.

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
    """
    return _smoothed(*as_pair(pred, target), dice_per_image)


def iou(pred: Any, target: Any) -> float:
    """Jaccard index: (|P∩G| + eps) / (|P∪G| + eps), eps = 1e-6.

    Empty masks and args: as :func:`dice`.
    """
    return _smoothed(*as_pair(pred, target), iou_per_image)


def precision(pred: Any, target: Any) -> float:
    """Precision: |P∩G| / |P|; 1 when both masks are empty, 0 for an empty prediction alone.

    Args: as :func:`dice`.
    """
    return overlap_scores(*as_pair(pred, target))["precision"]


def recall(pred: Any, target: Any) -> float:
    """Recall (sensitivity): |P∩G| / |G|; 1 when both masks are empty, 0 for an empty truth alone.

    Args: as :func:`dice`.
    """
    return overlap_scores(*as_pair(pred, target))["recall"]


def overlap_scores(p: np.ndarray, t: np.ndarray) -> dict[str, float]:
    """Dice, IoU, precision and recall of two checked masks, in that order.

    Args:
        p: predicted mask, a 2-D bool array (see :func:`~lus_unet.metrics.masks.as_pair`).
        t: ground-truth mask of the same shape.
    """
    hits = int(np.count_nonzero(p & t))
    n_p, n_t = int(np.count_nonzero(p)), int(np.count_nonzero(t))
    return {
        "dice": _smoothed(p, t, dice_per_image),
        "iou": _smoothed(p, t, iou_per_image),
        "precision": _ratio(hits, n_p, n_t > 0),
        "recall": _ratio(hits, n_t, n_p > 0),
    }


def _smoothed(p: np.ndarray, t: np.ndarray, per_image: PerImage) -> float:
    # Exactly one empty mask is the worst case: 0, not the epsilon-smoothed near-zero.
    if bool(p.any()) != bool(t.any()):
        return 0.0
    # float64 so the eps of eq. 2 is not lost in rounding for large masks.
    pred = torch.from_numpy(p[None]).to(torch.float64)
    target = torch.from_numpy(t[None]).to(torch.float64)
    return float(per_image(pred, target).item())


def _ratio(hits: int, total: int, other_nonempty: bool) -> float:
    """hits / total, with 0/0 = 1 if the other mask is empty too and 0 otherwise."""
    if total == 0:
        return 0.0 if other_nonempty else 1.0
    return hits / total
