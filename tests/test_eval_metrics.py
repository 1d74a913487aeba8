"""Per-case metrics (lus_unet.metrics) against hand-made masks, known answers, brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from lus_unet.metrics.batch import dice_per_image, iou_per_image
from lus_unet.metrics.case import (
    CHEAP_METRICS,
    DISTANCE_METRICS,
    DISTANCE_METRICS_PX,
    case_metrics,
)
from lus_unet.metrics.components import outside_largest_fraction, spurious_components
from lus_unet.metrics.contours import contour_length, contour_length_ratio
from lus_unet.metrics.distances import assd, boundary, hd95, surface_distances
from lus_unet.metrics.overlap import dice, iou, precision, recall
from lus_unet.metrics.summary import summarize

SPACING = (0.5, 2.0)


def rect(shape: tuple[int, int], rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """A mask with the half-open block rows x cols set."""
    m = np.zeros(shape, dtype=bool)
    m[rows[0] : rows[1], cols[0] : cols[1]] = True
    return m


def ref_boundary(mask: np.ndarray) -> np.ndarray:
    """Foreground pixels with a 4-neighbour in the background or outside the image."""
    p = np.pad(mask, 1)
    interior = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return mask & ~interior


def ref_directed(
    a: np.ndarray, b: np.ndarray, spacing: tuple[float, float] = (1.0, 1.0)
) -> tuple[np.ndarray, np.ndarray]:
    """All-pairs distances between the boundary point sets: min over each side."""
    pa = np.argwhere(ref_boundary(a)) * np.asarray(spacing)
    pb = np.argwhere(ref_boundary(b)) * np.asarray(spacing)
    d = np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(-1))
    return d.min(axis=1), d.min(axis=0)


def ref_hd95(a: np.ndarray, b: np.ndarray, spacing: tuple[float, float] = (1.0, 1.0)) -> float:
    d_ab, d_ba = ref_directed(a, b, spacing)
    return float(max(np.percentile(d_ab, 95), np.percentile(d_ba, 95)))


def ref_assd(a: np.ndarray, b: np.ndarray, spacing: tuple[float, float] = (1.0, 1.0)) -> float:
    return float(np.concatenate(ref_directed(a, b, spacing)).mean())


def blobs(seed: int, shape: tuple[int, int] = (48, 56)) -> np.ndarray:
    """A seeded irregular mask: thresholded smoothed noise."""
    noise = np.random.default_rng(seed).standard_normal(shape)
    return ndimage.gaussian_filter(noise, 3.0) > 0.05


# ---------------------------------------------------------------------------- overlap


@pytest.mark.parametrize("k", [0, 1, 3, 7, 19])
def test_shifted_squares_overlap_and_distances(k: int) -> None:
    target = rect((40, 64), (10, 30), (10, 30))
    pred = rect((40, 64), (10, 30), (10 + k, 30 + k))
    overlap = 20 * (20 - k)
    m = case_metrics(pred, target)
    assert m["dice"] == pytest.approx(2 * overlap / 800, abs=1e-8)
    assert m["iou"] == pytest.approx(overlap / (800 - overlap), abs=1e-8)
    assert m["precision"] == pytest.approx(overlap / 400)
    assert m["recall"] == pytest.approx(overlap / 400)
    assert m["hd95_px"] == pytest.approx(ref_hd95(pred, target))
    assert m["assd_px"] == pytest.approx(ref_assd(pred, target))
    if k:
        assert m["hd95_px"] > 0
    else:
        assert m["hd95_px"] == m["assd_px"] == 0.0


def test_precision_recall_on_known_overlap() -> None:
    target = rect((32, 32), (0, 10), (0, 10))  # 100 pixels
    pred = rect((32, 32), (5, 10), (0, 20))  # 5x20 = 100 pixels; overlap 5x10 = 50
    assert precision(pred, target) == pytest.approx(50 / 100)
    pred[20:30, 20:30] = True  # 100 more false positives: precision drops, recall stays
    assert precision(pred, target) == pytest.approx(50 / 200)
    assert recall(pred, target) == pytest.approx(50 / 100)
    assert dice(pred, target) == pytest.approx(2 * 50 / 300, abs=1e-8)
    assert iou(pred, target) == pytest.approx(50 / 250, abs=1e-8)


def test_accepts_zero_one_arrays_and_rejects_the_rest() -> None:
    target = rect((16, 16), (2, 8), (2, 8))
    as_float = case_metrics(target.astype(np.float32), target.astype(np.uint8))
    assert as_float["dice"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="binary"):
        case_metrics(target * 0.7, target)
    with pytest.raises(ValueError, match="shape"):
        case_metrics(target, target[:8])
    with pytest.raises(ValueError, match="2-D"):
        case_metrics(target[None], target[None])
    with pytest.raises(ValueError, match="spacing"):
        case_metrics(target, target, spacing=(0.5, 0.0))


# -------------------------------------------------------------------------- distances


def test_boundary_uses_the_cross_and_counts_the_image_edge() -> None:
    m = rect((6, 6), (0, 4), (1, 5))  # touches the top edge
    expected = ref_boundary(m)
    assert np.array_equal(boundary(m), expected)
    # the top row is boundary only because outside the image is background
    assert boundary(m)[0, 1:5].all()
    # a 3x3 cross erosion keeps the inner 2x2 block of a 4x4 square
    assert np.count_nonzero(boundary(m)) == 16 - 4


@pytest.mark.parametrize("k", [1, 2, 5])
def test_thin_bars_are_exactly_k_apart(k: int) -> None:
    # Every pixel of a 1-pixel-wide bar is a boundary pixel, and each has its twin
    # in the other bar on the same row, k columns away: HD95 = ASSD = k.
    target = rect((40, 40), (5, 35), (10, 11))
    pred = rect((40, 40), (5, 35), (10 + k, 11 + k))
    m = case_metrics(pred, target, spacing=SPACING)
    assert m["hd95_px"] == pytest.approx(k)
    assert m["assd_px"] == pytest.approx(k)
    assert m["hd95_mm"] == pytest.approx(k * SPACING[1])
    assert m["assd_mm"] == pytest.approx(k * SPACING[1])
    assert hd95(pred, target) == pytest.approx(k)
    assert assd(pred, target, spacing=SPACING) == pytest.approx(k * SPACING[1])


def test_hd95_is_the_max_of_the_directed_percentiles() -> None:
    # A far 3x2 stray blob is 6 of 82 predicted boundary pixels (> 5%): it sets
    # P95(P->G) while G->P is all zeros; pooled, it is 6 of 158 (< 5%) and vanishes.
    target = rect((64, 64), (5, 25), (5, 25))
    pred = target.copy()
    pred[50:53, 50:52] = True
    d_pt, d_tp = ref_directed(pred, target)
    pooled = float(np.percentile(np.concatenate([d_pt, d_tp]), 95))
    directed_max = float(max(np.percentile(d_pt, 95), np.percentile(d_tp, 95)))
    assert pooled == 0.0
    assert directed_max > 30
    assert hd95(pred, target) == pytest.approx(directed_max)
    assert assd(pred, target) == pytest.approx(float(np.concatenate([d_pt, d_tp]).mean()))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distances_match_brute_force_isotropic_and_anisotropic(seed: int) -> None:
    pred, target = blobs(seed), blobs(seed + 100)
    m = case_metrics(pred, target, spacing=SPACING)
    assert m["hd95_px"] == pytest.approx(ref_hd95(pred, target))
    assert m["assd_px"] == pytest.approx(ref_assd(pred, target))
    assert m["hd95_mm"] == pytest.approx(ref_hd95(pred, target, SPACING))
    assert m["assd_mm"] == pytest.approx(ref_assd(pred, target, SPACING))
    d_pt, d_tp = surface_distances(pred, target, spacing=SPACING)
    ref_pt, ref_tp = ref_directed(pred, target, SPACING)
    # both list distances in row-major order of the boundary pixels
    np.testing.assert_allclose(d_pt, ref_pt)
    np.testing.assert_allclose(d_tp, ref_tp)


def test_anisotropic_rectangles_differ_from_pixel_distances() -> None:
    target = rect((40, 50), (9, 31), (3, 21))
    pred = rect((40, 50), (5, 25), (8, 31))
    m = case_metrics(pred, target, spacing=SPACING)
    assert m["hd95_mm"] == pytest.approx(ref_hd95(pred, target, SPACING))
    assert m["assd_mm"] == pytest.approx(ref_assd(pred, target, SPACING))
    assert m["hd95_mm"] != pytest.approx(m["hd95_px"])


# ---------------------------------------------------------------------- shape metrics


def test_detached_blob_is_spurious_and_outside_the_largest() -> None:
    target = rect((64, 64), (5, 25), (5, 25))
    pred = target.copy()
    pred[50:53, 50:53] = True
    m = case_metrics(pred, target)
    assert m["spurious_components"] == 1
    assert m["outside_largest_fraction"] == pytest.approx(9 / 409)
    assert spurious_components(pred, target) == 1
    assert outside_largest_fraction(pred) == pytest.approx(9 / 409)
    assert case_metrics(target, target)["outside_largest_fraction"] == 0.0


def test_components_use_8_connectivity_and_need_overlap() -> None:
    target = rect((40, 40), (5, 25), (5, 25))
    pred = target.copy()
    pred[25, 25] = True  # touches the square's corner diagonally only: same component
    assert spurious_components(pred, target) == 0
    assert outside_largest_fraction(pred) == 0.0
    # a blob that borders the truth without overlapping it is still spurious
    bordering = rect((40, 40), (10, 13), (25, 28))
    assert spurious_components(bordering, target) == 1
    assert spurious_components(bordering | target, target) == 0  # merged into the hit


def test_contour_length_of_a_square_by_hand() -> None:
    square = rect((30, 30), (5, 25), (5, 25))
    # 19 straight steps per side between pixel centres plus four cut corners
    assert contour_length(square) == pytest.approx(4 * 19 + 2 * math.sqrt(2))
    dy, dx = SPACING
    expected_mm = 2 * 19 * dx + 2 * 19 * dy + 2 * math.hypot(dy, dx)
    assert contour_length(square, spacing=SPACING) == pytest.approx(expected_mm)
    single = rect((5, 5), (2, 3), (2, 3))
    assert contour_length(single) == pytest.approx(2 * math.sqrt(2))


def test_contour_length_measures_a_diagonal_staircase_as_a_line() -> None:
    n = 30
    lower = np.tril(np.ones((n, n), dtype=bool))  # a 45-degree staircase edge
    # the triangle through the pixel centres, (n-1) * (2 + sqrt(2)), plus the 2 sqrt(2)
    # every convex outline gets from its cut corners (as the square above)
    expected = (n - 1) * (2 + math.sqrt(2)) + 2 * math.sqrt(2)
    assert contour_length(lower) == pytest.approx(expected)
    # a staircase of 2-pixel steps over the same diagonal is longer
    coarse = np.zeros((n, n), dtype=bool)
    for r in range(n):
        coarse[r, : 2 * (r // 2) + 1] = True
    assert contour_length(coarse) > expected + 5


def test_jagged_edge_has_a_longer_contour_at_equal_area() -> None:
    target = rect((50, 40), (5, 45), (5, 25))  # 40 rows x 20 columns
    pred = np.zeros_like(target)
    for i, row in enumerate(range(5, 45)):
        pred[row, 5 : 5 + (18 if i % 2 else 22)] = True  # serrated right edge
    assert pred.sum() == target.sum()
    m = case_metrics(pred, target)
    assert m["dice"] == pytest.approx(0.95, abs=1e-8)  # Dice barely notices ...
    assert m["contour_length_ratio"] > 1.5  # ... the rough edge
    assert case_metrics(target, target)["contour_length_ratio"] == pytest.approx(1.0)
    assert contour_length_ratio(pred, target) == pytest.approx(m["contour_length_ratio"])


# ------------------------------------------------------------------------ empty masks


def test_both_empty_is_perfect() -> None:
    empty = np.zeros((32, 48), dtype=bool)
    m = case_metrics(empty, empty, spacing=SPACING)
    assert set(m) == set(CHEAP_METRICS) | set(DISTANCE_METRICS)
    for key in ("dice", "iou", "precision", "recall", "contour_length_ratio"):
        assert m[key] == 1.0, key
    for key in ("spurious_components", "outside_largest_fraction", *DISTANCE_METRICS):
        assert m[key] == 0.0, key


def test_empty_prediction_is_the_worst_case() -> None:
    empty = np.zeros((32, 48), dtype=bool)
    target = rect((32, 48), (5, 15), (5, 25))
    m = case_metrics(empty, target, spacing=SPACING)
    for key in ("dice", "iou", "precision", "recall", "contour_length_ratio"):
        assert m[key] == 0.0, key
    assert m["spurious_components"] == 0.0
    assert m["hd95_px"] == m["assd_px"] == pytest.approx(math.hypot(32, 48))
    assert m["hd95_mm"] == m["assd_mm"] == pytest.approx(math.hypot(32 * 0.5, 48 * 2.0))
    assert hd95(empty, target) == pytest.approx(math.hypot(32, 48))
    with pytest.raises(ValueError, match="non-empty"):
        surface_distances(empty, target)


def test_empty_truth_is_the_worst_case() -> None:
    empty = np.zeros((32, 48), dtype=bool)
    pred = rect((32, 48), (5, 15), (5, 25)) | rect((32, 48), (20, 22), (40, 42))
    m = case_metrics(pred, empty, spacing=SPACING)
    for key in ("dice", "iou", "precision", "recall"):
        assert m[key] == 0.0, key
    assert m["spurious_components"] == 2
    assert m["hd95_px"] == m["assd_px"] == pytest.approx(math.hypot(32, 48))
    assert m["hd95_mm"] == m["assd_mm"] == pytest.approx(math.hypot(32 * 0.5, 48 * 2.0))
    single_pixel = 2 * math.hypot(*SPACING)
    assert m["contour_length_ratio"] == pytest.approx(
        contour_length(pred, spacing=SPACING) / single_pixel
    )
    assert m["contour_length_ratio"] > 1
    assert all(math.isfinite(v) for v in m.values())


def test_summarize_counts_empty_cases() -> None:
    empty = np.zeros((16, 16), dtype=bool)
    target = rect((16, 16), (4, 8), (4, 8))
    cases = [case_metrics(empty, empty), case_metrics(empty, target)]
    s = summarize(cases)
    assert s["dice"]["mean"] == pytest.approx(0.5)
    assert s["dice"]["n"] == 2
    assert s["hd95_px"]["mean"] == pytest.approx(math.hypot(16, 16) / 2)


# ------------------------------------------------------------------- keys and summary


def test_distance_flag_and_spacing_choose_the_keys() -> None:
    target = rect((16, 16), (4, 8), (4, 8))
    assert tuple(case_metrics(target, target, distances=False)) == CHEAP_METRICS
    assert tuple(case_metrics(target, target)) == CHEAP_METRICS + DISTANCE_METRICS_PX
    assert tuple(case_metrics(target, target, spacing=SPACING)) == (
        CHEAP_METRICS + DISTANCE_METRICS
    )


def test_summarize_statistics_on_known_numbers() -> None:
    s = summarize([{"a": 1.0, "b": 5.0}, {"a": 2.0}, {"a": 3.0}, {"a": 4.0}])
    assert s["a"] == pytest.approx(
        {"mean": 2.5, "sd": math.sqrt(5 / 3), "median": 2.5, "min": 1.0, "max": 4.0, "n": 4}
    )
    assert s["b"] == {"mean": 5.0, "sd": 0.0, "median": 5.0, "min": 5.0, "max": 5.0, "n": 1}
    assert summarize([]) == {}
    with pytest.raises(ValueError, match="non-finite"):
        summarize([{"a": float("nan")}])


# ------------------------------------------------- one case = the single metrics, training


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_case_metrics_are_the_single_metrics_and_the_training_logs(seed: int) -> None:
    pred, target = blobs(seed), blobs(seed + 10)
    m = case_metrics(pred, target, spacing=SPACING)
    single = {
        "dice": dice(pred, target),
        "iou": iou(pred, target),
        "precision": precision(pred, target),
        "recall": recall(pred, target),
        "spurious_components": spurious_components(pred, target),
        "outside_largest_fraction": outside_largest_fraction(pred),
        "contour_length_ratio": contour_length_ratio(pred, target, SPACING),
        "hd95_px": hd95(pred, target),
        "assd_px": assd(pred, target),
        "hd95_mm": hd95(pred, target, SPACING),
        "assd_mm": assd(pred, target, SPACING),
    }
    assert m == pytest.approx(single, rel=1e-12)
    # Validation logs val/dice and val/iou from the batch functions: the same numbers.
    p, t = (torch.from_numpy(a[None]).to(torch.float64) for a in (pred, target))
    assert dice_per_image(p, t).item() == pytest.approx(m["dice"], rel=1e-12)
    assert iou_per_image(p, t).item() == pytest.approx(m["iou"], rel=1e-12)
