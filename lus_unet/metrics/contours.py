"""Edge roughness: contour lengths by marching squares and their ratio to the truth's.

The contour length is summed from a 16-case table over every 2x2 neighbourhood of the
zero-padded mask (straight runs cost dx or dy per pixel step, corners and diagonal steps half
a pixel diagonal). It follows the polygon through the pixel centres with its corners cut, so
straight edges and 1-pixel (45-degree) staircases get their geometric length (plus a constant
2 * hypot(dy, dx) for a convex outline), while coarser steps and back-and-forth teeth
lengthen the contour. Unlike a count of pixel edges, it does not charge every diagonal
outline sqrt(2) times its length. A single pixel has the shortest non-empty contour:
``2 * hypot(dy, dx)``. Empty masks: see :mod:`lus_unet.metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lus_unet.metrics.masks import UNIT, Spacing, as_mask, as_pair, as_spacing


def contour_length(mask: Any, spacing: Sequence[float] | None = None) -> float:
    """Contour length by marching squares: Σ over 2x2 neighbourhoods of a 16-case table.

    Table: a straight step costs dx (along a row) or dy (along a column), a cut corner
    hypot(dy, dx) / 2, a diagonal pair two corners. A w x h pixel rectangle measures
    2(w-1)dx + 2(h-1)dy + 2 hypot(dy, dx). Units: mm with ``spacing``, else pixels.

    Args:
        mask: 2-D binary mask.
        spacing: pixel size (dy, dx) in mm; None for pixel units.
    """
    return _contour_length(as_mask(mask, "mask"), as_spacing(spacing) or UNIT)


def contour_length_ratio(pred: Any, target: Any, spacing: Sequence[float] | None = None) -> float:
    """Boundary roughness: L(P) / L(G), contour lengths by ``contour_length``.

    1 for the right length, > 1 for a longer (rougher) outline, < 1 for a shorter
    one. Empty masks: see :mod:`lus_unet.metrics`.

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
        spacing: pixel size (dy, dx) in mm; None for pixel units (anisotropic pixels
            weigh horizontal and vertical steps differently, so the ratio may change).
    """
    p, t = as_pair(pred, target)
    return _contour_ratio(p, t, as_spacing(spacing) or UNIT)


def _contour_table(sampling: Spacing) -> np.ndarray:
    """Marching-squares contour length of each 2x2 code a + 2b + 4c + 8d (a b / c d)."""
    dy, dx = sampling
    corner = 0.5 * math.hypot(dy, dx)
    table = np.zeros(16)
    table[[1, 2, 4, 8, 7, 11, 13, 14]] = corner  # one pixel in or out: a cut corner
    table[[3, 12]] = dx  # a top or bottom pair: the contour runs along the row
    table[[5, 10]] = dy  # a left or right pair: the contour runs along the column
    table[[6, 9]] = 2 * corner  # diagonal pair (saddle): two cut corners either way
    return table


def _contour_length(mask: np.ndarray, sampling: Spacing) -> float:
    if not mask.any():
        return 0.0
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    m = np.pad(mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 1).astype(np.uint8)
    code = m[:-1, :-1] + 2 * m[:-1, 1:] + 4 * m[1:, :-1] + 8 * m[1:, 1:]
    counts = np.bincount(code.ravel(), minlength=16)
    return float(counts @ _contour_table(sampling))


def _contour_ratio(p: np.ndarray, t: np.ndarray, sampling: Spacing) -> float:
    length_p = _contour_length(p, sampling)
    length_t = _contour_length(t, sampling)
    if length_t > 0:
        return length_p / length_t
    if length_p == 0:
        return 1.0
    # Empty truth: divide by the shortest non-empty contour, a single pixel's.
    return length_p / (2 * math.hypot(*sampling))
