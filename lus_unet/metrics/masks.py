"""Checking the inputs of the per-case metrics: 2-D binary masks and pixel spacings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

# Pixel size (dy, dx): rows, then columns.
Spacing = tuple[float, float]

# The spacing of pixel units.
UNIT: Spacing = (1.0, 1.0)


def as_mask(x: Any, name: str) -> np.ndarray:
    """A 2-D bool array from a bool or 0/1 array-like; raises ValueError on anything else.

    Args:
        x: the mask (bool, or numbers that are all 0 or 1).
        name: what the error message calls it.
    """
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D mask, got shape {a.shape}")
    if a.dtype == bool:
        return a
    if not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name} must be binary (bool or 0/1 values)")
    return a.astype(bool)


def as_pair(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both masks as 2-D bool arrays of one shape; raises ValueError otherwise.

    Args:
        pred: predicted mask.
        target: ground-truth mask.
    """
    p, t = as_mask(pred, "pred"), as_mask(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred shape {p.shape} differs from target shape {t.shape}")
    return p, t


def as_spacing(spacing: Sequence[float] | None) -> Spacing | None:
    """The pixel size as two positive finite floats, or None; raises ValueError otherwise.

    Args:
        spacing: (dy, dx) in mm, or None for pixel units.
    """
    if spacing is None:
        return None
    s = tuple(float(v) for v in spacing)
    if len(s) != 2 or not all(math.isfinite(v) and v > 0 for v in s):
        raise ValueError(f"spacing must be two positive finite numbers (dy, dx), got {spacing}")
    return s[0], s[1]
