"""Synthetic LUS frames and salient images: physics, determinism, difficulty and the disk format."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import tifffile
from PIL import Image

from lus_unet.data import synthetic
from lus_unet.data.discover import discover_pairs
from lus_unet.data.io import read_array, read_mask, to_grayscale
from lus_unet.data.preprocess import log_compress
from lus_unet.data.synthetic import (
    FRAME_SHAPE,
    frame_seed,
    generate_lus_dataset,
    generate_salient_dataset,
    iter_lus_frames,
    lus_frame,
    synth_salient_image,
)
from lus_unet.errors import DataError
from lus_unet.threshold_baseline import best_global_threshold_dice, main, synthetic_baseline


@pytest.fixture(scope="module")
def frames() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Eight frames of seed 0, shared by the tests that only look at them."""
    return list(iter_lus_frames(8, seed=0))


def mtimes(root: Path) -> dict[str, int]:
    """Modification time of every file under ``root``."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


# --------------------------------------------------------------------------- LUS frames


def test_frame_shapes_dtypes_and_dynamic_range(frames: list) -> None:
    for frame_id, frame, mask in frames:
        assert frame.shape == FRAME_SHAPE and frame.dtype == np.float32
        assert mask.shape == FRAME_SHAPE and mask.dtype == np.uint8
        assert np.all(np.isfinite(frame)) and frame.min() > 0
        assert set(np.unique(mask).tolist()) == {0, 1}
        # A linear envelope spans decades; a log-compressed image would not.
        assert frame.max() / np.median(frame) > 100, frame_id
        assert frame.max() / frame.min() > 1e3, frame_id


def test_mask_is_a_band_of_sensible_thickness(frames: list) -> None:
    for frame_id, _, mask in frames:
        columns = np.flatnonzero(mask.any(axis=0))
        assert columns.size >= 8, frame_id
        thickness = mask[:, columns].sum(axis=0)
        assert thickness.max() <= 90 and np.median(thickness) >= 25, (frame_id, thickness)
        # One contiguous run of rows per column: a band, not scattered pixels.
        starts = np.diff(mask[:, columns].astype(np.int8), axis=0) == 1
        assert starts.sum(axis=0).max() <= 1


def test_ids_alternate_probe_positions() -> None:
    ids = [synthetic.lus_frame_id(k) for k in range(4)]
    assert ids == ["pos2_0001", "pos3_0002", "pos2_0003", "pos3_0004"]


def test_frames_are_deterministic_and_independent_of_dataset_size() -> None:
    _, a, ma = lus_frame(7, 3)
    _, b, mb = lus_frame(7, 3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ma, mb)
    # Frame k of a long dataset equals frame k of a short one.
    short = list(iter_lus_frames(2, seed=7))
    long = list(iter_lus_frames(4, seed=7))
    for (ia, fa, ma_), (ib, fb, mb_) in zip(short, long[:2], strict=True):
        assert ia == ib
        np.testing.assert_array_equal(fa, fb)
        np.testing.assert_array_equal(ma_, mb_)
    _, c, _ = lus_frame(8, 3)
    assert not np.array_equal(a, c)
    assert not np.array_equal(long[0][1], long[1][1])


def test_rib_casts_a_shadow_and_is_bright(frames: list) -> None:
    for frame_id, frame, mask in frames:
        rib_cols = np.flatnonzero(mask.sum(axis=0) >= 10)
        # Columns well away from any rib (the shadow's soft edge is about a column wide).
        near = np.convolve(mask.any(axis=0), np.ones(7), mode="same") > 0
        free_cols = np.flatnonzero(~near)
        assert rib_cols.size and free_cols.size, frame_id
        bottom = int(np.flatnonzero(mask.any(axis=1)).max())
        rows = slice(bottom + 10, min(bottom + 300, FRAME_SHAPE[0]))
        shadow = frame[rows][:, rib_cols].mean()
        lit = frame[rows][:, free_cols].mean()
        assert shadow < 0.1 * lit, (frame_id, shadow, lit)
        assert frame[mask == 1].mean() > 30 * shadow, frame_id


def test_bright_distractors_outside_the_rib(frames: list) -> None:
    # The pleura, A-lines and fascia are about as bright as the rib: outside the mask there
    # are many pixels brighter than the rib's median (a frame without them has ~0.2x).
    ratios = []
    for _, frame, mask in frames:
        image, rib = log_compress(frame), mask.astype(bool)
        ratios.append(np.sum((image > np.median(image[rib])) & ~rib) / rib.sum())
    assert np.mean(ratios) > 0.5, ratios


def test_global_threshold_is_a_poor_but_nonzero_baseline() -> None:
    threshold, dice = synthetic_baseline(30, seed=1, size=64)
    assert 0.05 < dice < 0.65, dice
    assert 0.0 < threshold < 1.0


# --------------------------------------------------------------------------- threshold baseline


def test_best_threshold_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    images = [rng.random((16, 12)) for _ in range(3)]
    masks = [(im + 0.3 * rng.random(im.shape) > 0.8).astype(np.uint8) for im in images]
    threshold, dice = best_global_threshold_dice(images, masks, n_thresholds=21)
    best = (-1.0, -1.0)
    for t in np.linspace(0, 1, 21):
        scores = [
            (2 * np.sum((im > t) & (m > 0)) + 1e-6) / (np.sum(im > t) + m.sum() + 1e-6)
            for im, m in zip(images, masks, strict=True)
        ]
        if np.mean(scores) > best[1]:
            best = (t, float(np.mean(scores)))
    assert threshold == pytest.approx(best[0])
    assert dice == pytest.approx(best[1])


def test_best_threshold_separable_case() -> None:
    mask = np.zeros((8, 8), np.uint8)
    mask[2:5, 3:6] = 1
    threshold, dice = best_global_threshold_dice([mask * 0.8], [mask])
    assert dice == pytest.approx(1.0)
    assert 0.0 <= threshold < 0.8


def test_baseline_cli_logs_the_result(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="lus_unet.threshold_baseline"):
        main(["--n-frames", "2", "--size", "32"])
    assert "mean Dice = " in caplog.text


# --------------------------------------------------------------------------- LUS datasets on disk


def test_mat_png_round_trip_and_contract(tmp_path: Path) -> None:
    root = tmp_path / "lus"
    ids = generate_lus_dataset(root, 4, seed=3, image_format="mat", mask_format="png")
    assert ids == ["pos2_0001", "pos3_0002", "pos2_0003", "pos3_0004"]
    for k, frame_id in enumerate(ids):
        _, frame, mask = lus_frame(3, k)
        stored = scipy.io.loadmat(root / "images" / f"{frame_id}.mat")["frame"]
        assert stored.dtype == np.float32
        np.testing.assert_array_equal(stored, frame)
        png = np.asarray(Image.open(root / "masks" / f"{frame_id}.png"))
        np.testing.assert_array_equal(png, mask * 255)
    # The project's own readers accept the folder as it is.
    pairs = {p.id: p for p in discover_pairs(root)}
    assert sorted(pairs) == sorted(ids)
    np.testing.assert_array_equal(read_array(pairs["pos3_0002"].image), lus_frame(3, 1)[1])
    np.testing.assert_array_equal(read_mask(pairs["pos3_0002"].mask), lus_frame(3, 1)[2])
    manifest = json.loads((root / "synthetic.json").read_text())
    assert manifest["n_frames"] == 4 and manifest["seed"] == 3 and manifest["ids"] == ids


def test_tif_tif_and_png_mat_round_trip(tmp_path: Path) -> None:
    generate_lus_dataset(tmp_path / "t", 2, seed=5, image_format="tif", mask_format="tif")
    generate_lus_dataset(tmp_path / "p", 2, seed=5, image_format="png", mask_format="mat")
    for k, frame_id in enumerate(["pos2_0001", "pos3_0002"]):
        _, frame, mask = lus_frame(5, k)
        tif = tifffile.imread(tmp_path / "t" / "images" / f"{frame_id}.tif")
        assert tif.dtype == np.float32
        np.testing.assert_array_equal(tif, frame)
        np.testing.assert_array_equal(
            tifffile.imread(tmp_path / "t/masks" / f"{frame_id}.tif"), mask
        )
        png = np.asarray(Image.open(tmp_path / "p" / "images" / f"{frame_id}.png"))
        assert png.dtype == np.uint8 and png.shape == FRAME_SHAPE
        np.testing.assert_array_equal(png, np.rint(log_compress(frame) * 255).astype(np.uint8))
        stored = scipy.io.loadmat(tmp_path / "p" / "masks" / f"{frame_id}.mat")["mask"]
        np.testing.assert_array_equal(stored, mask)


def test_existing_dataset_is_reused_without_rewriting(tmp_path: Path) -> None:
    root = tmp_path / "lus"
    ids = generate_lus_dataset(root, 2, seed=0)
    before = mtimes(root)
    assert generate_lus_dataset(root, 2, seed=0) == ids
    assert mtimes(root) == before


def test_refuses_foreign_or_different_folders(tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("precious")
    with pytest.raises(DataError, match="not written by the synthetic generator"):
        generate_lus_dataset(foreign, 2)
    assert (foreign / "notes.txt").read_text() == "precious"
    root = tmp_path / "lus"
    generate_lus_dataset(root, 2, seed=0)
    before = mtimes(root)
    with pytest.raises(DataError, match="seed=0"):
        generate_lus_dataset(root, 2, seed=1)
    with pytest.raises(DataError, match="different synthetic dataset"):
        generate_salient_dataset(root, 2, size=32)
    assert mtimes(root) == before
    # An existing but empty folder is fine to fill.
    (tmp_path / "empty").mkdir()
    assert len(generate_lus_dataset(tmp_path / "empty", 1)) == 1


def test_interrupted_generation_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = synthetic.lus_frame

    def failing(seed: int, index: int, profile: str) -> tuple[str, np.ndarray, np.ndarray]:
        if index == 1:
            raise KeyboardInterrupt
        return real(seed, index, profile)

    monkeypatch.setattr(synthetic, "lus_frame", failing)
    with pytest.raises(KeyboardInterrupt):
        generate_lus_dataset(tmp_path / "lus", 3)
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".lock"] == []  # the lock may stay


def test_missing_files_are_reported(tmp_path: Path) -> None:
    root = tmp_path / "lus"
    generate_lus_dataset(root, 2)
    (root / "masks" / "pos3_0002.png").unlink()
    with pytest.raises(DataError, match="incomplete"):
        generate_lus_dataset(root, 2)


# --------------------------------------------------------------------------- salient images


def test_salient_images_shapes_masks_and_determinism() -> None:
    fractions = []
    for k in range(6):
        image, mask = synth_salient_image(np.random.default_rng(frame_seed(0, k)), size=96)
        assert image.shape == (96, 96) and image.dtype == np.uint8
        assert mask.shape == (96, 96) and mask.dtype == np.uint8
        assert set(np.unique(mask).tolist()) <= {0, 1}
        assert image.std() > 10  # textured, not flat
        fractions.append(mask.mean())
    assert all(0.02 < f < 0.7 for f in fractions), fractions
    a = synth_salient_image(np.random.default_rng(frame_seed(4, 2)), size=64)
    b = synth_salient_image(np.random.default_rng(frame_seed(4, 2)), size=64)
    c = synth_salient_image(np.random.default_rng(frame_seed(4, 3)), size=64)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_salient_dataset_round_trip(tmp_path: Path) -> None:
    root = tmp_path / "sal"
    ids = generate_salient_dataset(root, 4, seed=2, size=48)
    assert ids == ["sal_00001", "sal_00002", "sal_00003", "sal_00004"]
    for k, name in enumerate(ids):
        gray, mask = synth_salient_image(np.random.default_rng(frame_seed(2, k)), size=48)
        image = np.asarray(Image.open(root / "images" / f"{name}.png"))
        if k == 3:  # every fourth image is a tinted RGB copy of the grey one
            assert image.shape == (48, 48, 3)
            assert np.abs(to_grayscale(image).astype(int) - gray).max() <= 1
            assert np.ptp(image.astype(int), axis=-1).max() > 10  # really coloured
        else:
            np.testing.assert_array_equal(image, gray)
        np.testing.assert_array_equal(
            np.asarray(Image.open(root / "masks" / f"{name}.png")), mask * 255
        )
    before = mtimes(root)
    assert generate_salient_dataset(root, 4, seed=2, size=48) == ids
    assert mtimes(root) == before
    with pytest.raises(DataError, match="size=48"):
        generate_salient_dataset(root, 4, seed=2, size=64)
