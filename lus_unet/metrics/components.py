"""Stray blobs in a prediction: components that miss the truth, and area outside the largest one.

Components are 8-connected (``scipy.ndimage.label`` with a 3x3 block). Empty masks: see
:mod:`lus_unet.metrics`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from lus_unet.metrics.masks import as_mask, as_pair

_BLOCK = ndimage.generate_binary_structure(2, 2)


def spurious_components(pred: Any, target: Any) -> int:
    """Predicted 8-connected components that overlap no ground-truth pixel.

    A component merely bordering the ground truth still counts; an empty ground truth
    makes every predicted component spurious.

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
    """
    p, t = as_pair(pred, target)
    return _spurious(*_label(p), t)


def outside_largest_fraction(pred: Any) -> float:
    """Fraction of the predicted area outside its largest 8-connected component: 1 - |C_max| / |P|.

    0 for an empty prediction or a single component.

    Args:
        pred: predicted 2-D binary mask.
    """
    return _outside_largest(*_label(as_mask(pred, "pred")))


def component_scores(p: np.ndarray, t: np.ndarray) -> dict[str, float]:
    """``spurious_components`` (a whole number, as a float) and ``outside_largest_fraction``.

    The prediction is labelled once for both.

    Args:
        p: predicted mask, a 2-D bool array (see :func:`~lus_unet.metrics.masks.as_pair`).
        t: ground-truth mask of the same shape.
    """
    labels, n = _label(p)
    return {
        "spurious_components": float(_spurious(labels, n, t)),
        "outside_largest_fraction": _outside_largest(labels, n),
    }


def _label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    labels, n = ndimage.label(mask, structure=_BLOCK)
    return labels, int(n)


def _spurious(labels: np.ndarray, n: int, t: np.ndarray) -> int:
    hit = np.unique(labels[t])
    return n - int(np.count_nonzero(hit))


def _outside_largest(labels: np.ndarray, n: int) -> float:
    if n <= 1:
        return 0.0
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    return float(1.0 - sizes.max() / sizes.sum())
