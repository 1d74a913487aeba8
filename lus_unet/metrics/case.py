"""Every metric of one case (a predicted mask against its ground truth), and the metric names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lus_unet.metrics.components import component_scores
from lus_unet.metrics.contours import contour_length_ratio
from lus_unet.metrics.distances import distance_scores
from lus_unet.metrics.masks import as_pair, as_spacing
from lus_unet.metrics.overlap import overlap_scores

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


def case_metrics(
    pred: Any,
    target: Any,
    spacing: Sequence[float] | None = None,
    distances: bool = True,
) -> dict[str, float]:
    """All metrics of one case: CHEAP_METRICS, then (with ``distances``) the distance ones.

    Keys: ``CHEAP_METRICS``; with ``distances`` also ``hd95_px`` and ``assd_px``, and
    with a ``spacing`` ``hd95_mm`` and ``assd_mm``. The contour ratio uses ``spacing``
    when given. Every value is finite (see :mod:`lus_unet.metrics` for empty masks);
    ``spurious_components`` is a whole number stored as a float.

    Args:
        pred: predicted 2-D binary mask (bool or 0/1).
        target: ground-truth 2-D binary mask of the same shape.
        spacing: pixel size (dy, dx) in mm, or None.
        distances: also compute HD95 and ASSD (two to four distance transforms).
    """
    p, t = as_pair(pred, target)
    mm = as_spacing(spacing)
    out = overlap_scores(p, t)
    out |= component_scores(p, t)
    out["contour_length_ratio"] = contour_length_ratio(p, t, mm)
    if distances:
        out |= distance_scores(p, t, mm)
    return out
