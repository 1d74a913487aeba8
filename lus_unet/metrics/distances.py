"""Boundary (surface) distances between two masks: HD95 and ASSD, in pixels or millimetres.

Conventions:

- Boundary of a mask: ``mask XOR binary_erosion(mask)`` with the 3x3 *cross*
  (4-connectivity) structuring element and outside-the-image counted as background, so
  foreground pixels on the image border are boundary pixels. This is MONAI's
  ``get_mask_edges`` (scipy's default structure).
- Directed surface distances: for every boundary pixel of one mask, the Euclidean distance
  (anisotropic with ``spacing``) to the nearest boundary pixel of the other, from
  ``scipy.ndimage.distance_transform_edt``.
- HD95 is symmetric as in MONAI's ``compute_hausdorff_distance(percentile=95)``: the larger
  of the two directed 95th percentiles (``numpy.percentile``, linear interpolation), not the
  percentile of the pooled distances. A stray blob thus shows up even when the rest of both
  boundaries agree.
- ASSD: mean of the pooled directed distances (both boundary point sets), as current
  MONAI's ``compute_average_surface_distance(symmetric=True)`` (which concatenates both
  directions; older MONAI releases averaged the two directed means instead, which differs
  when the boundaries differ in size).

Empty masks: see :mod:`lus_unet.metrics`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import ndimage

from lus_unet.metrics.masks import UNIT, Spacing, as_mask, as_pair, as_spacing

HD_PERCENTILE = 95.0

_CROSS = ndimage.generate_binary_structure(2, 1)

Reduction = Callable[[np.ndarray, np.ndarray], float]


def boundary(mask: Any) -> np.ndarray:
    """Boundary pixels: mask XOR binary_erosion(mask, 3x3 cross), outside counted as background.

    Args:
        mask: 2-D binary mask.
    """
    return _boundary(as_mask(mask, "mask"))


def _boundary(m: np.ndarray) -> np.ndarray:
    return m ^ ndimage.binary_erosion(m, structure=_CROSS, border_value=0)


def _cropped_boundaries(p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boundaries of both masks, cropped to their union's bounding box.

    Exact, not an approximation: every boundary pixel, and so every nearest one, lies
    in the box, and outside the box both masks are background, as erosion assumes.
    """
    union = p | t
    rows = np.flatnonzero(union.any(axis=1))
    cols = np.flatnonzero(union.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return _boundary(p[box]), _boundary(t[box])


def _directed(
    surf_p: np.ndarray, surf_t: np.ndarray, sampling: Spacing
) -> tuple[np.ndarray, np.ndarray]:
    """Distances from each boundary pixel of P to G's boundary, and of G to P's."""
    to_t = ndimage.distance_transform_edt(~surf_t, sampling=sampling)
    to_p = ndimage.distance_transform_edt(~surf_p, sampling=sampling)
    return to_t[surf_p], to_p[surf_t]


def surface_distances(
    pred: Any, target: Any, spacing: Sequence[float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Directed boundary distances (P->G, G->P), in mm with ``spacing``, else in pixels.

    Both masks must be non-empty (an empty mask has no boundary to measure to).

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
        spacing: pixel size (dy, dx) in mm; None for pixel units.
    """
    p, t = as_pair(pred, target)
    if not (p.any() and t.any()):
        raise ValueError("surface distances need two non-empty masks")
    return _directed(*_cropped_boundaries(p, t), as_spacing(spacing) or UNIT)


def _hd_from(d_pt: np.ndarray, d_tp: np.ndarray) -> float:
    return float(max(np.percentile(d_pt, HD_PERCENTILE), np.percentile(d_tp, HD_PERCENTILE)))


def _assd_from(d_pt: np.ndarray, d_tp: np.ndarray) -> float:
    return float((d_pt.sum() + d_tp.sum()) / (d_pt.size + d_tp.size))


def _empty_distance(p: np.ndarray, t: np.ndarray, sampling: Spacing) -> float | None:
    """The empty-mask rule's distance (0 or the diagonal), or None when both are non-empty."""
    p_any, t_any = bool(p.any()), bool(t.any())
    if p_any and t_any:
        return None
    if p_any == t_any:
        return 0.0
    return math.hypot(p.shape[0] * sampling[0], p.shape[1] * sampling[1])


def _surface_distance(
    pred: Any, target: Any, spacing: Sequence[float] | None, reduce: Reduction
) -> float:
    # Shared by HD95 and ASSD: the empty-mask rule, then a reduction of both directed sets.
    p, t = as_pair(pred, target)
    sampling = as_spacing(spacing) or UNIT
    empty = _empty_distance(p, t, sampling)
    if empty is not None:
        return empty
    return reduce(*_directed(*_cropped_boundaries(p, t), sampling))


def hd95(pred: Any, target: Any, spacing: Sequence[float] | None = None) -> float:
    """Symmetric 95th-percentile Hausdorff distance: max(P95(d(P->G)), P95(d(G->P))).

    d(A->B) holds, for every boundary pixel of A, its distance to B's boundary (MONAI's
    convention). Units: mm with ``spacing``, else pixels. Empty masks: see
    :mod:`lus_unet.metrics`.

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
        spacing: pixel size (dy, dx) in mm; None for pixel units.
    """
    return _surface_distance(pred, target, spacing, _hd_from)


def assd(pred: Any, target: Any, spacing: Sequence[float] | None = None) -> float:
    """Average symmetric surface distance: (Σ d(P->G) + Σ d(G->P)) / (|∂P| + |∂G|).

    Units: mm with ``spacing``, else pixels. Empty masks: see :mod:`lus_unet.metrics`.

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
        spacing: pixel size (dy, dx) in mm; None for pixel units.
    """
    return _surface_distance(pred, target, spacing, _assd_from)


def distance_scores(p: np.ndarray, t: np.ndarray, mm: Spacing | None) -> dict[str, float]:
    """HD95 and ASSD of two checked masks in pixels and, with a spacing, in millimetres.

    The boundaries are found once for both units. Keys: ``hd95_px``, ``assd_px`` and, with
    ``mm``, ``hd95_mm``, ``assd_mm``.

    Args:
        p: predicted mask, a 2-D bool array (see :func:`~lus_unet.metrics.masks.as_pair`).
        t: ground-truth mask of the same shape.
        mm: checked pixel size (dy, dx) in mm (see :func:`~lus_unet.metrics.masks.as_spacing`),
            or None for pixel units only.
    """
    units: list[tuple[str, Spacing]] = [("px", UNIT)]
    if mm is not None:
        units.append(("mm", mm))
    surfaces = _cropped_boundaries(p, t) if p.any() and t.any() else None
    out: dict[str, float] = {}
    for unit, sampling in units:
        if surfaces is None:
            hd = avg = _empty_distance(p, t, sampling) or 0.0
        else:
            d_pt, d_tp = _directed(*surfaces, sampling)
            hd, avg = _hd_from(d_pt, d_tp), _assd_from(d_pt, d_tp)
        out[f"hd95_{unit}"] = hd
        out[f"assd_{unit}"] = avg
    return out
