"""The realistic profile of the synthetic LUS frames: contract, determinism, physics, difficulty."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image
from scipy import ndimage

from lus_unet.data.spec import LUSSpec
from lus_unet.data.synthetic import (
    FRAME_SHAPE,
    LUS_PROFILES,
    frame_seed,
    generate_lus_dataset,
    iter_lus_frames,
    lus_frame,
    lus_position,
)
from lus_unet.data.synthetic_realistic import (
    GAIN_DB,
    b_lines,
    near_field_clutter,
    point_spread_function,
    speckle_envelope,
    synth_lus_frame_realistic,
)
from lus_unet.errors import DataError
from lus_unet.threshold_baseline import main, synthetic_baseline


@pytest.fixture(scope="module")
def frames() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Eight realistic frames of seed 0, shared by the tests that only look at them."""
    return list(iter_lus_frames(8, seed=0, profile="realistic"))


def realistic_rng(seed: int, index: int) -> np.random.Generator:
    """The generator :func:`lus_frame` hands frame ``index`` of the realistic profile."""
    return np.random.default_rng(frame_seed(seed, index, LUS_PROFILES.index("realistic")))


def test_frames_keep_the_data_contract(frames: list) -> None:
    ids = [frame_id for frame_id, _, _ in frames]
    assert ids[:3] == ["pos2_0001", "pos3_0002", "pos2_0003"]
    for frame_id, frame, mask in frames:
        assert frame.shape == FRAME_SHAPE and frame.dtype == np.float32
        assert mask.shape == FRAME_SHAPE and mask.dtype == np.uint8
        assert np.all(np.isfinite(frame)) and frame.min() > 0
        assert set(np.unique(mask).tolist()) == {0, 1}
        assert frame.max() / np.median(frame) > 30, frame_id  # a linear envelope
        # The mask is still a cortex band: one run of rows per column, 25-90 rows at the apex.
        columns = np.flatnonzero(mask.any(axis=0))
        thickness = mask[:, columns].sum(axis=0)
        assert columns.size >= 5 and 25 <= thickness.max() <= 90, (frame_id, thickness.max())
        starts = np.diff(mask[:, columns].astype(np.int8), axis=0) == 1
        assert starts.sum(axis=0).max() <= 1


def test_frames_are_deterministic_independent_of_dataset_size_and_profile() -> None:
    short = list(iter_lus_frames(2, seed=7, profile="realistic"))
    long = list(iter_lus_frames(4, seed=7, profile="realistic"))
    for (ia, fa, ma), (ib, fb, mb) in zip(short, long[:2], strict=True):
        assert ia == ib
        np.testing.assert_array_equal(fa, fb)
        np.testing.assert_array_equal(ma, mb)
    np.testing.assert_array_equal(lus_frame(7, 1, "realistic")[1], long[1][1])
    assert not np.array_equal(long[0][1], long[1][1])
    # Its own random stream: not the standard frame with another finish.
    standard = lus_frame(7, 0)[2]
    assert not np.array_equal(standard, long[0][2])


def test_gain_is_uniform_within_the_configured_range() -> None:
    ratios = []
    for k in range(24):
        drawn = lus_frame(3, k, "realistic")[1]
        reference, _ = synth_lus_frame_realistic(realistic_rng(3, k), lus_position(k), gain_db=0.0)
        ratio = drawn.astype(np.float64) / reference
        # One overall factor per frame: the rest of the frame does not depend on the gain.
        np.testing.assert_allclose(ratio, np.median(ratio), rtol=1e-4)
        ratios.append(20 * np.log10(np.median(ratio)))
    assert min(ratios) >= -GAIN_DB - 1e-3 and max(ratios) <= GAIN_DB + 1e-3
    assert max(ratios) - min(ratios) > 0.6 * 2 * GAIN_DB, ratios
    assert min(ratios) < -2 and max(ratios) > 2
    up, _ = synth_lus_frame_realistic(realistic_rng(3, 0), gain_db=GAIN_DB)
    down, _ = synth_lus_frame_realistic(realistic_rng(3, 0), gain_db=-GAIN_DB)
    np.testing.assert_allclose(up / down, 10 ** (2 * GAIN_DB / 20), rtol=1e-4)


def test_every_rib_shows_a_bright_arc_or_a_dark_shadow_and_never_neither(frames: list) -> None:
    arcs, shadows = [], []
    for frame, mask in ((frame, mask) for _, frame, mask in frames):
        power = frame.astype(np.float64) ** 2
        # Deep rows of the columns far from any rib: what a shadow is compared with.
        lit = np.convolve(mask.any(axis=0), np.ones(7), mode="same") == 0
        labels, n_ribs = ndimage.label(mask)
        for rib in range(1, n_ribs + 1):
            columns = np.flatnonzero((labels == rib).any(axis=0))
            # The middle third of the rib's columns: the arc's top, the shadow's core.
            mid = columns[columns.size // 3 : max(2 * columns.size // 3, columns.size // 3 + 1)]
            tops = [int(np.flatnonzero(labels[:, c] == rib).min()) for c in mid]
            arc = np.mean([power[t : t + 10, c].mean() for t, c in zip(tops, mid, strict=True)])
            above = np.mean(
                [power[max(t - 60, 0) : t - 20, c].mean() for t, c in zip(tops, mid, strict=True)]
            )
            rows = slice(int(np.flatnonzero((labels == rib).any(axis=1)).max()) + 20, None)
            shadow = power[rows][:, mid].mean() / power[rows][:, lit].mean() if lit.any() else 0
            arcs.append(10 * np.log10(arc / above))
            shadows.append(10 * np.log10(shadow) if shadow else -np.inf)
    arcs, shadows = np.array(arcs), np.array(shadows)
    # Faint arcs and weak (partly transmitting) shadows both occur...
    assert arcs.min() < 8 and shadows.max() > -22 and shadows.min() < -28, (arcs, shadows)
    # ...but every arc is brighter than the tissue above it, every rib darkens what lies
    # below, and a faint arc comes with a dark shadow.
    assert arcs.min() > 0 and shadows.max() < -1, (arcs, shadows)
    assert np.all((arcs > 10) | (shadows < -10)), (arcs, shadows)


def test_b_lines_start_at_the_pleura_and_avoid_rib_shadows() -> None:
    w = FRAME_SHAPE[1]
    pleura_y = np.full(w, 300.0, dtype=np.float32)
    pleura_amp = np.full(w, 40.0, dtype=np.float32)
    transmission = np.ones(FRAME_SHAPE, dtype=np.float32)
    transmission[150:, 30:70] = 0.02  # a rib's shadow
    counts = []
    for seed in range(16):
        lines = b_lines(np.random.default_rng(seed), pleura_y, pleura_amp, transmission)
        assert lines.dtype == np.float32 and lines.shape == FRAME_SHAPE
        assert not lines[:, 30:70].any()
        if not lines.any():
            counts.append(0)
            continue
        assert lines[:280].max() < 1e-3 * lines.max()  # nothing above the pleura
        deep = lines[900]
        assert deep.max() > 0.1 * lines.max()  # reaching the bottom
        peaks = (
            (deep[1:-1] > deep[:-2]) & (deep[1:-1] >= deep[2:]) & (deep[1:-1] > 0.05 * deep.max())
        )
        counts.append(int(peaks.sum()))
        # A few columns wide, not a wash over the frame.
        assert np.sum(deep > 0.5 * deep.max()) <= 3 * 6
    assert max(counts) <= 3 and min(counts) == 0 and max(counts) >= 2, counts


def test_near_field_clutter_stays_near_the_probe_with_varying_strength() -> None:
    peaks = []
    for seed in range(8):
        clutter = near_field_clutter(np.random.default_rng(seed), 1.0)
        assert clutter.shape == FRAME_SHAPE and clutter.min() >= 0
        assert not clutter[151:].any() and clutter[:100].mean() > 0
        peaks.append(float(clutter[:100].mean()))
    assert max(peaks) / min(peaks) > 3, peaks


def test_speckle_is_rayleigh_axially_elongated_and_keeps_the_mean_intensity() -> None:
    rng = np.random.default_rng(0)
    psf = point_spread_function(rng)
    assert np.sum(np.abs(psf) ** 2) == pytest.approx(1.0, rel=1e-5)
    assert psf.shape[0] > 2 * psf.shape[1]  # a pulse of 6-12 rows, a beam of about a column
    envelope = speckle_envelope(rng, np.full(FRAME_SHAPE, 2.0, dtype=np.float32), psf)
    assert envelope.shape == FRAME_SHAPE and envelope.dtype == np.float32
    assert np.mean(envelope.astype(np.float64) ** 2) == pytest.approx(4.0, rel=0.05)
    # Fully developed speckle: the envelope's mean/std is the Rayleigh 1.91.
    assert envelope.mean() / envelope.std() == pytest.approx(1.91, rel=0.05)
    centred = envelope - envelope.mean()

    def correlation(axis: int, lag: int) -> float:
        a = np.take(centred, range(lag, centred.shape[axis]), axis=axis)
        b = np.take(centred, range(centred.shape[axis] - lag), axis=axis)
        return float(np.mean(a * b) / centred.var())

    assert correlation(0, 2) > correlation(1, 2) and correlation(0, 2) > 0.3
    assert abs(correlation(0, 40)) < 0.05  # no correlation beyond the pulse


# --------------------------------------------------------------------------- datasets


def test_dataset_records_the_profile_and_keeps_apart_from_the_standard_set(
    tmp_path: Path,
) -> None:
    root = tmp_path / "real"
    ids = generate_lus_dataset(root, 2, seed=4, profile="realistic")
    assert ids == ["pos2_0001", "pos3_0002"]
    manifest = json.loads((root / "synthetic.json").read_text())
    assert manifest["profile"] == "realistic"
    for k, frame_id in enumerate(ids):
        _, frame, mask = lus_frame(4, k, "realistic")
        stored = scipy.io.loadmat(root / "images" / f"{frame_id}.mat")["frame"]
        assert stored.dtype == np.float32
        np.testing.assert_array_equal(stored, frame)
        png = np.asarray(Image.open(root / "masks" / f"{frame_id}.png"))
        np.testing.assert_array_equal(png, mask * 255)
    assert generate_lus_dataset(root, 2, seed=4, profile="realistic") == ids  # reused
    # Neither profile takes the other's folder.
    with pytest.raises(DataError, match="profile='realistic'"):
        generate_lus_dataset(root, 2, seed=4)
    standard = tmp_path / "standard"
    generate_lus_dataset(standard, 2, seed=4)
    assert "profile" not in json.loads((standard / "synthetic.json").read_text())
    with pytest.raises(DataError, match="different synthetic dataset"):
        generate_lus_dataset(standard, 2, seed=4, profile="realistic")


def test_spec_names_the_realistic_set_apart_and_refuses_unknown_profiles(tmp_path: Path) -> None:
    standard = LUSSpec(cache_dir="c")
    assert standard.synthetic["profile"] == "standard"
    assert standard.synthetic_name() == "lus-v1-n300-seed0-mat"  # unchanged: caches stay valid
    realistic = LUSSpec(cache_dir="c", synthetic={"profile": "realistic", "n_frames": 20})
    assert realistic.synthetic_name() == "lus-realistic-v1-n20-seed0-mat"
    assert realistic.data_root != standard.data_root
    # From a config, the schema refuses the profile first (test_config_schema.py).
    with pytest.raises(ValueError, match=r"profile must be one of \('standard', 'realistic'\)"):
        lus_frame(0, 0, "fancy")
    with pytest.raises(ValueError, match="profile must be one of"):
        generate_lus_dataset(tmp_path / "lus", 1, profile="fancy")
    assert not (tmp_path / "lus").exists()


# --------------------------------------------------------------------------- difficulty


def test_global_threshold_scores_at_most_one_half() -> None:
    threshold, dice = synthetic_baseline(24, seed=0, size=64, profile="realistic")
    assert 0.02 < dice <= 0.5, dice
    assert 0.0 < threshold < 1.0


def test_baseline_cli_takes_the_profile(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="lus_unet.threshold_baseline"):
        main(["--n-frames", "2", "--size", "32", "--profile", "realistic"])
    assert "synthetic realistic frames" in caplog.text and "mean Dice = " in caplog.text
    with pytest.raises(SystemExit):
        main(["--profile", "fancy"])
