"""Per-case metrics for one binary prediction against one binary ground truth.

The paper found that Dice ranked V-UNet first although its masks had artifacts,
outliers and rough rib edges that only the eye caught. Besides the overlap scores
(Dice, IoU, precision, recall) this module measures those defects: boundary
distances (HD95, ASSD), stray blobs (``spurious_components``,
``outside_largest_fraction``) and edge roughness (``contour_length_ratio``).

Inputs are 2-D masks (bool, or numbers that are all 0 or 1) of the same shape;
``spacing`` is the pixel size ``(dy, dx)`` in millimetres (rows, columns).

Conventions:

- Boundary (surface) of a mask: ``mask XOR binary_erosion(mask)`` with the 3x3
  *cross* (4-connectivity) structuring element and outside-the-image counted as
  background, so foreground pixels on the image border are boundary pixels. This
  is MONAI's ``get_mask_edges`` (scipy's default structure).
- Directed surface distances: for every boundary pixel of one mask, the Euclidean
  distance (anisotropic with ``spacing``) to the nearest boundary pixel of the
  other, from ``scipy.ndimage.distance_transform_edt``.
- HD95 is symmetric as in MONAI's ``compute_hausdorff_distance(percentile=95)``:
  the larger of the two directed 95th percentiles (``numpy.percentile``, linear
  interpolation), not the percentile of the pooled distances. A stray blob thus
  shows up even when the rest of both boundaries agree.
- ASSD: mean of the pooled directed distances (both boundary point sets), as
  current MONAI's ``compute_average_surface_distance(symmetric=True)`` (which
  concatenates both directions; older MONAI releases averaged the two
  directed means instead, which differs when the boundaries differ in size).
- Contour length: marching squares on the pixel centres, summed from a 16-case
  table over every 2x2 neighbourhood of the zero-padded mask (straight runs cost
  dx or dy per pixel step, corners and diagonal steps half a pixel diagonal). It
  follows the polygon through the pixel centres with its corners cut, so straight
  edges and 1-pixel (45-degree) staircases get their geometric length (plus a
  constant 2 * hypot(dy, dx) for a convex outline), while coarser steps and
  back-and-forth teeth lengthen the contour. Unlike a count of pixel edges, it
  does not charge every diagonal outline sqrt(2) times its length. A single
  pixel has the shortest non-empty contour: ``2 * hypot(dy, dx)``.
- Components: 8-connectivity (``scipy.ndimage.label`` with a 3x3 block).

Empty masks (never dropped, never NaN; every value is finite and enters every mean):

- Both empty: a correct "no rib": Dice = IoU = precision = recall = 1, distances 0,
  ``contour_length_ratio`` 1, ``spurious_components`` 0, ``outside_largest_fraction`` 0.
- Exactly one empty: the worst value. Dice = IoU = precision = recall = 0;
  HD95 and ASSD = the image diagonal ``hypot(H, W)`` pixels, and
  ``hypot(H * dy, W * dx)`` mm, more than any two pixels can be apart;
  ``spurious_components`` = number of predicted components (0 for an empty
  prediction); ``outside_largest_fraction`` as for any prediction.
  ``contour_length_ratio`` is 0 for an empty prediction; for an empty ground truth
  it is the predicted contour length over a single pixel's contour length, the
  largest ratio this prediction could reach against any non-empty ground truth
  (>= 1, growing with the wrongly predicted outline).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from lus_unet.training.metrics import dice_per_image, iou_per_image

Spacing = tuple[float, float]

HD_PERCENTILE = 95.0

# Keys of case_metrics, in output order. The distance metrics cost distance transforms,
# so the training loop can ask for them less often (case_metrics(..., distances=False)).
OVERLAP_METRICS: tuple[str, ...] = ("dice", "iou", "precision", "recall")
SHAPE_METRICS: tuple[str, ...] = (
    "spurious_components",
    "outside_largest_fraction",
    "contour_length_ratio",
)
CHEAP_METRICS: tuple[str, ...] = OVERLAP_METRICS + SHAPE_METRICS
DISTANCE_METRICS_PX: tuple[str, ...] = ("hd95_px", "assd_px")
DISTANCE_METRICS_MM: tuple[str, ...] = ("hd95_mm", "assd_mm")
# The millimetre keys are present only when a spacing is given.
DISTANCE_METRICS: tuple[str, ...] = DISTANCE_METRICS_PX + DISTANCE_METRICS_MM

_CROSS = ndimage.generate_binary_structure(2, 1)
_BLOCK = ndimage.generate_binary_structure(2, 2)
_UNIT: Spacing = (1.0, 1.0)


# ----------------------------------------------------------------------------- inputs


def _as_mask(x: Any, name: str) -> np.ndarray:
    """A 2-D bool array from a bool or 0/1 array-like; raises on anything else."""
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D mask, got shape {a.shape}")
    if a.dtype == bool:
        return a
    if not np.isin(a, (0, 1)).all():
        raise ValueError(f"{name} must be binary (bool or 0/1 values)")
    return a.astype(bool)


def _as_pair(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    p, t = _as_mask(pred, "pred"), _as_mask(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred shape {p.shape} differs from target shape {t.shape}")
    return p, t


def _as_spacing(spacing: Sequence[float] | None) -> Spacing | None:
    if spacing is None:
        return None
    s = tuple(float(v) for v in spacing)
    if len(s) != 2 or not all(math.isfinite(v) and v > 0 for v in s):
        raise ValueError(f"spacing must be two positive finite numbers (dy, dx), got {spacing}")
    return s[0], s[1]


# ---------------------------------------------------------------------------- overlap


def _torch_pair(pred: np.ndarray, target: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    # float64 so the eps of eq. 2 is not lost in rounding for large masks.
    return (
        torch.from_numpy(pred[None]).to(torch.float64),
        torch.from_numpy(target[None]).to(torch.float64),
    )


def dice(pred: Any, target: Any) -> float:
    """Dice by the paper's eq. 2: (2|P∩G| + eps) / (|P| + |G| + eps), eps = 1e-6.

    Delegates to ``lus_unet.training.metrics.dice_per_image`` so evaluation and the
    training logs agree. Exactly one mask empty gives exactly 0, both empty 1.

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
    """
    p, t = _as_pair(pred, target)
    return _dice(p, t)


def _overlap(p: np.ndarray, t: np.ndarray, per_image: Any) -> float:
    # Exactly one empty mask is the worst case: 0, not the epsilon-smoothed near-zero.
    if bool(p.any()) != bool(t.any()):
        return 0.0
    return float(per_image(*_torch_pair(p, t)).item())


def _dice(p: np.ndarray, t: np.ndarray) -> float:
    return _overlap(p, t, dice_per_image)


def iou(pred: Any, target: Any) -> float:
    """Jaccard index: (|P∩G| + eps) / (|P∪G| + eps), eps = 1e-6.

    Delegates to ``lus_unet.training.metrics.iou_per_image``. Exactly one mask empty
    gives exactly 0, both empty 1.

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
    """
    p, t = _as_pair(pred, target)
    return _iou(p, t)


def _iou(p: np.ndarray, t: np.ndarray) -> float:
    return _overlap(p, t, iou_per_image)


def precision(pred: Any, target: Any) -> float:
    """Precision: |P∩G| / |P|; 1 when both masks are empty, 0 for an empty prediction alone.

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
    """
    p, t = _as_pair(pred, target)
    return _ratio(int(np.count_nonzero(p & t)), int(np.count_nonzero(p)), bool(t.any()))


def recall(pred: Any, target: Any) -> float:
    """Recall (sensitivity): |P∩G| / |G|; 1 when both masks are empty, 0 for an empty truth alone.

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
    """
    p, t = _as_pair(pred, target)
    return _ratio(int(np.count_nonzero(p & t)), int(np.count_nonzero(t)), bool(p.any()))


def _ratio(hits: int, total: int, other_nonempty: bool) -> float:
    """hits / total, with 0/0 = 1 if the other mask is empty too and 0 otherwise."""
    if total == 0:
        return 0.0 if other_nonempty else 1.0
    return hits / total


# -------------------------------------------------------------------------- distances


def boundary(mask: Any) -> np.ndarray:
    """Boundary pixels: mask XOR binary_erosion(mask, 3x3 cross), outside counted as background.

    Args:
        mask: 2-D binary mask.
    """
    m = _as_mask(mask, "mask")
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
    pc, tc = p[box], t[box]
    return (
        pc ^ ndimage.binary_erosion(pc, structure=_CROSS, border_value=0),
        tc ^ ndimage.binary_erosion(tc, structure=_CROSS, border_value=0),
    )


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
    p, t = _as_pair(pred, target)
    if not (p.any() and t.any()):
        raise ValueError("surface distances need two non-empty masks")
    sampling = _as_spacing(spacing) or _UNIT
    return _directed(*_cropped_boundaries(p, t), sampling)


def _hd_from(d_pt: np.ndarray, d_tp: np.ndarray, percentile: float = HD_PERCENTILE) -> float:
    return float(max(np.percentile(d_pt, percentile), np.percentile(d_tp, percentile)))


def _assd_from(d_pt: np.ndarray, d_tp: np.ndarray) -> float:
    return float((d_pt.sum() + d_tp.sum()) / (d_pt.size + d_tp.size))


def _diagonal(shape: tuple[int, ...], sampling: Spacing) -> float:
    return math.hypot(shape[0] * sampling[0], shape[1] * sampling[1])


def _empty_distance(p: np.ndarray, t: np.ndarray, sampling: Spacing) -> float | None:
    """The empty-mask rule's distance (0 or the diagonal), or None when both are non-empty."""
    p_any, t_any = bool(p.any()), bool(t.any())
    if p_any and t_any:
        return None
    return 0.0 if p_any == t_any else _diagonal(p.shape, sampling)


def _surface_distance(
    pred: Any, target: Any, spacing: Sequence[float] | None, reduce: Any
) -> float:
    # Shared by HD95 and ASSD: the empty-mask rule, then a reduction of both directed sets.
    p, t = _as_pair(pred, target)
    sampling = _as_spacing(spacing) or _UNIT
    empty = _empty_distance(p, t, sampling)
    if empty is not None:
        return empty
    return reduce(*_directed(*_cropped_boundaries(p, t), sampling))


def hd95(pred: Any, target: Any, spacing: Sequence[float] | None = None) -> float:
    """Symmetric 95th-percentile Hausdorff distance: max(P95(d(P->G)), P95(d(G->P))).

    d(A->B) holds, for every boundary pixel of A, its distance to B's boundary (MONAI's
    convention). Units: mm with ``spacing``, else pixels. Empty masks: see the module notes.

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
        spacing: pixel size (dy, dx) in mm; None for pixel units.
    """
    return _surface_distance(pred, target, spacing, _hd_from)


def assd(pred: Any, target: Any, spacing: Sequence[float] | None = None) -> float:
    """Average symmetric surface distance: (Σ d(P->G) + Σ d(G->P)) / (|∂P| + |∂G|).

    Units: mm with ``spacing``, else pixels. Empty masks: see the module notes.

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
        spacing: pixel size (dy, dx) in mm; None for pixel units.
    """
    return _surface_distance(pred, target, spacing, _assd_from)


# ----------------------------------------------------------------------- shape metrics


def _label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    labels, n = ndimage.label(mask, structure=_BLOCK)
    return labels, int(n)


def _spurious(labels: np.ndarray, n: int, t: np.ndarray) -> int:
    hit = np.unique(labels[t])
    return n - int(np.count_nonzero(hit))


def spurious_components(pred: Any, target: Any) -> int:
    """Predicted 8-connected components that overlap no ground-truth pixel.

    A component merely bordering the ground truth still counts; an empty ground truth
    makes every predicted component spurious.

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
    """
    p, t = _as_pair(pred, target)
    return _spurious(*_label(p), t)


def _outside_largest(labels: np.ndarray, n: int) -> float:
    if n <= 1:
        return 0.0
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    return float(1.0 - sizes.max() / sizes.sum())


def outside_largest_fraction(pred: Any) -> float:
    """Fraction of the predicted area outside its largest 8-connected component: 1 - |C_max| / |P|.

    0 for an empty prediction or a single component.

    Args:
        pred: predicted 2-D binary mask.
    """
    return _outside_largest(*_label(_as_mask(pred, "pred")))


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


def contour_length(mask: Any, spacing: Sequence[float] | None = None) -> float:
    """Contour length by marching squares: Σ over 2x2 neighbourhoods of a 16-case table.

    Table: a straight step costs dx (along a row) or dy (along a column), a cut corner
    hypot(dy, dx) / 2, a diagonal pair two corners. A w x h pixel rectangle measures
    2(w-1)dx + 2(h-1)dy + 2 hypot(dy, dx). Units: mm with ``spacing``, else pixels.

    Args:
        mask: 2-D binary mask.
        spacing: pixel size (dy, dx) in mm; None for pixel units.
    """
    return _contour_length(_as_mask(mask, "mask"), _as_spacing(spacing) or _UNIT)


def _contour_ratio(p: np.ndarray, t: np.ndarray, sampling: Spacing) -> float:
    length_p = _contour_length(p, sampling)
    length_t = _contour_length(t, sampling)
    if length_t > 0:
        return length_p / length_t
    if length_p == 0:
        return 1.0
    # Empty truth: divide by the shortest non-empty contour, a single pixel's.
    return length_p / (2 * math.hypot(*sampling))


def contour_length_ratio(pred: Any, target: Any, spacing: Sequence[float] | None = None) -> float:
    """Boundary roughness: L(P) / L(G), contour lengths by ``contour_length``.

    1 for the right length, > 1 for a longer (rougher) outline, < 1 for a shorter
    one. Empty masks: see the module notes.

    Args:
        pred: predicted 2-D binary mask.
        target: ground-truth 2-D binary mask.
        spacing: pixel size (dy, dx) in mm; None for pixel units (anisotropic pixels
            weigh horizontal and vertical steps differently, so the ratio may change).
    """
    p, t = _as_pair(pred, target)
    return _contour_ratio(p, t, _as_spacing(spacing) or _UNIT)


# -------------------------------------------------------------------------- per case


def case_metrics(
    pred: Any,
    target: Any,
    spacing: Sequence[float] | None = None,
    distances: bool = True,
) -> dict[str, float]:
    """All metrics of one case: CHEAP_METRICS, then (with ``distances``) the distance ones.

    Keys: ``CHEAP_METRICS``; with ``distances`` also ``hd95_px`` and ``assd_px``, and
    with a ``spacing`` ``hd95_mm`` and ``assd_mm``. The contour ratio uses ``spacing``
    when given. Every value is finite (see the module notes for empty masks);
    ``spurious_components`` is a whole number stored as a float.

    Args:
        pred: predicted 2-D binary mask (bool or 0/1).
        target: ground-truth 2-D binary mask of the same shape.
        spacing: pixel size (dy, dx) in mm, or None.
        distances: also compute HD95 and ASSD (two to four distance transforms).
    """
    p, t = _as_pair(pred, target)
    mm = _as_spacing(spacing)
    hits = int(np.count_nonzero(p & t))
    n_p, n_t = int(np.count_nonzero(p)), int(np.count_nonzero(t))
    labels, n_components = _label(p)
    out: dict[str, float] = {
        "dice": _dice(p, t),
        "iou": _iou(p, t),
        "precision": _ratio(hits, n_p, n_t > 0),
        "recall": _ratio(hits, n_t, n_p > 0),
        "spurious_components": float(_spurious(labels, n_components, t)),
        "outside_largest_fraction": _outside_largest(labels, n_components),
        "contour_length_ratio": _contour_ratio(p, t, mm or _UNIT),
    }
    if not distances:
        return out
    units: list[tuple[str, Spacing]] = [("px", _UNIT)]
    if mm is not None:
        units.append(("mm", mm))
    surfaces = _cropped_boundaries(p, t) if n_p and n_t else None
    for unit, sampling in units:
        if surfaces is None:
            hd = avg = _empty_distance(p, t, sampling) or 0.0
        else:
            d_pt, d_tp = _directed(*surfaces, sampling)
            hd, avg = _hd_from(d_pt, d_tp), _assd_from(d_pt, d_tp)
        out[f"hd95_{unit}"] = hd
        out[f"assd_{unit}"] = avg
    return out


def summarize(cases: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Per metric: mean, sd (sample, n-1; 0 for one case), median, min, max and n.

    Metrics are summarised over the cases that report them (n says how many), in the
    order they first appear. Raises on a non-finite value rather than let it poison a
    mean (``case_metrics`` never returns one).

    Args:
        cases: per-case metric dicts, e.g. from ``case_metrics``.
    """
    keys = list(dict.fromkeys(k for case in cases for k in case))
    summary: dict[str, dict[str, float]] = {}
    for key in keys:
        values = np.asarray([case[key] for case in cases if key in case], dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(f"metric {key!r} has a non-finite value")
        n = values.size
        summary[key] = {
            "mean": float(values.mean()),
            "sd": float(values.std(ddof=1)) if n > 1 else 0.0,
            "median": float(np.median(values)),
            "min": float(values.min()),
            "max": float(values.max()),
            "n": n,
        }
    return summary
