"""Frame preprocessing: despeckling quality, log compression, scaling, resizing, kinds, config."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from lus_unet.bench.despeckle import edge_column, edge_row, measure_despeckle, phantom, speckle
from lus_unet.data.preprocess import (
    PreprocessConfig,
    despeckle,
    log_compress,
    preprocess_frame,
    resize_image,
    resize_mask,
    resolve_kind,
    to_unit_range,
)
from lus_unet.errors import ConfigError

SHAPE = (960, 128)  # the paper's raw frame: depth x lateral
EDGE_LIMIT_PX = 3.0  # largest 10-90% width that still counts as a sharp edge


def enl(region: np.ndarray) -> float:
    """Equivalent number of looks, mean^2 / variance (higher = less speckle)."""
    region = region.astype(np.float64)
    return float(region.mean() ** 2 / region.var())


def flat_region(image: np.ndarray) -> np.ndarray:
    """The interior of the phantom's bottom band (constant 0.5 before speckle)."""
    height, width = image.shape
    return image[int(0.6 * height) + 16 : height - 16, 16 : width - 16]


def db_display(linear: np.ndarray, reference: float = 1.0, dr: float = 60.0) -> np.ndarray:
    """Log compression against a FIXED reference (the clean maximum), so images compare."""
    db = 20 * np.log10(np.maximum(linear.astype(np.float64), reference * 10 ** (-dr / 20)))
    return np.clip(1 + (db - 20 * np.log10(reference)) / dr, 0, 1)


def psnr(image: np.ndarray, clean: np.ndarray) -> float:
    """PSNR in dB of two images in [0, 1]."""
    return float(10 * np.log10(1 / np.mean((image - clean) ** 2)))


def rise_width(profile: np.ndarray, edge: int) -> float:
    """10-90% width in px of a falling step at index ``edge`` (first index past the step).

    Plateaus are the means 10-24 px either side; the 90% and 10% crossings are searched
    outwards from the edge (so plateau noise far away cannot be mistaken for the edge) and
    interpolated linearly.
    """
    high, low = profile[edge - 24 : edge - 10].mean(), profile[edge + 10 : edge + 24].mean()
    p = (profile.astype(np.float64) - low) / (high - low)
    i = edge - 1
    while p[i] < 0.9:
        i -= 1
    x90 = i + (p[i] - 0.9) / (p[i] - p[i + 1])
    j = edge
    while p[j] > 0.1:
        j += 1
    x10 = j - 1 + (p[j - 1] - 0.1) / (p[j - 1] - p[j])
    return float(x10 - x90)


def vertical_edge_width(image: np.ndarray) -> float:
    """Width of the phantom's vertical step, on the profile averaged over the band's rows."""
    height, width = image.shape
    rows = slice(edge_row(height) + 16, int(0.6 * height) - 16)
    return rise_width(image[rows].mean(axis=0), edge_column(width))


def horizontal_edge_width(image: np.ndarray) -> float:
    """Width of the phantom's 0.1 -> 1.0 horizontal step, on the column-averaged profile."""
    height, width = image.shape
    cols = slice(8, edge_column(width) - 8)
    return rise_width(-image[:, cols].mean(axis=1), edge_row(height))


def centroid(image: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted (row, column) centre of an image."""
    weights = image.astype(np.float64)
    rows, cols = np.indices(image.shape)
    return float((rows * weights).sum() / weights.sum()), float(
        (cols * weights).sum() / weights.sum()
    )


@pytest.fixture(scope="module")
def speckled() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clean, noisy, despeckled) 960x128 phantom with unit-mean Rayleigh speckle."""
    clean = phantom(SHAPE)
    noisy = speckle(clean, seed=0)
    return clean, noisy, despeckle(noisy)


# --- despeckling quality -------------------------------------------------------------------


def test_despeckle_raises_enl(speckled: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    _, noisy, out = speckled
    # Fully developed Rayleigh amplitude speckle has ENL = pi / (4 - pi) = 3.66.
    assert enl(flat_region(noisy)) == pytest.approx(3.66, rel=0.1)
    # The brief asks for >= 3x; measured ~34x, so 10x still catches a weakened shrinkage.
    assert enl(flat_region(out)) >= 10 * enl(flat_region(noisy))


def test_despeckle_leaves_no_speckle_remnants(
    speckled: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    # ENL averages over the region; isolated bright or dark dots (noise coefficients that
    # slipped through the shrinkage) would still show on the display. Measured: +4.7 / -7.0 dB
    # here, and +12 / -18 dB if a coefficient may vouch for itself in its own local estimate.
    _, noisy, out = speckled
    region = flat_region(out)
    median = np.median(region)
    assert 20 * np.log10(region.max() / median) < 8.0
    assert 20 * np.log10(median / region.min()) < 12.0
    assert 20 * np.log10(flat_region(noisy).max() / np.median(flat_region(noisy))) > 8.0


def test_despeckle_improves_psnr_in_db_domain(
    speckled: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    clean, noisy, out = speckled
    # Both displayed at 60 dB against the clean maximum, as a scanner would show them.
    before = psnr(db_display(noisy), db_display(clean))
    after = psnr(db_display(out), db_display(clean))
    assert after >= before + 6.0  # measured 20.5 -> 30.8 dB


def test_despeckle_keeps_edges_sharp(speckled: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    _, noisy, out = speckled
    assert vertical_edge_width(noisy) <= 1.5  # an ideal step measures 0.8 px
    assert vertical_edge_width(out) <= EDGE_LIMIT_PX
    assert horizontal_edge_width(out) <= EDGE_LIMIT_PX


def matched_gaussian(noisy: np.ndarray, enl_gain: float) -> np.ndarray:
    """The weakest log-domain Gaussian blur (like ours, homomorphic) reaching ``enl_gain``."""
    log_noisy = np.log(noisy)
    for sigma in np.arange(0.5, 6.01, 0.25):
        blurred = np.exp(gaussian_filter(log_noisy, sigma))
        if enl(flat_region(blurred)) >= enl_gain * enl(flat_region(noisy)):
            return blurred
    raise AssertionError(f"no Gaussian reached an ENL gain of {enl_gain:.1f}")


def test_edge_check_fails_for_a_gaussian_of_comparable_enl(
    speckled: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    # A Gaussian that reduces speckle as much as we do must fail the sharpness check: otherwise
    # the check could not tell despeckling from blurring. Measured: sigma 2.25, 5.4 / 7.1 px.
    _, noisy, out = speckled
    blurred = matched_gaussian(noisy, enl(flat_region(out)) / enl(flat_region(noisy)))
    assert vertical_edge_width(blurred) > EDGE_LIMIT_PX
    assert horizontal_edge_width(blurred) > EDGE_LIMIT_PX


def test_classic_shrinkage_matches_scikit_image() -> None:
    # Validates the BayesShrink arithmetic (MAD noise estimate, thresholds, soft shrinkage)
    # against an independent implementation.
    restoration = pytest.importorskip("skimage.restoration")
    logged = np.log(speckle(phantom(SHAPE), seed=1))
    ours = despeckle(logged, "db4", 3, homomorphic=False, shrinkage="classic")
    theirs = restoration.denoise_wavelet(
        logged, method="BayesShrink", mode="soft", wavelet="db4", wavelet_levels=3
    )
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_despeckle_removes_correlated_speckle() -> None:
    # Real speckle grains span several depth samples (so do lus_unet.data.synthetic's): little
    # of their energy reaches the finest diagonal band, which is why the noise is measured per
    # subband. Measured: ENL x6.2 and PSNR 20.5 -> 28.0 dB; classic BayesShrink x1.0.
    clean = phantom(SHAPE)
    noisy = speckle(clean, seed=7, correlation=(2.0, 0.6))
    out = despeckle(noisy)
    noisy_enl = enl(flat_region(noisy))
    gain = enl(flat_region(out)) / noisy_enl
    assert gain >= 4
    assert enl(flat_region(despeckle(noisy, shrinkage="classic"))) < 1.5 * noisy_enl
    before = psnr(db_display(noisy), db_display(clean))
    assert psnr(db_display(out), db_display(clean)) >= before + 5.0
    # Grains elongated in depth resemble vertical edges at the finest scale, so the vertical
    # step widens here (measured 4.0 px); still sharper than an equally smoothing Gaussian
    # (5.1 px), and the horizontal step stays sharp (0.7 px against 4.2 px).
    blurred = matched_gaussian(noisy, gain)
    assert vertical_edge_width(out) < vertical_edge_width(blurred) - 0.5
    assert horizontal_edge_width(out) < min(EDGE_LIMIT_PX, horizontal_edge_width(blurred))


def test_despeckle_on_log_data_ignores_zero_padding() -> None:
    # A black border makes most finest-scale coefficients exactly zero; the noise estimate
    # must skip them or the median becomes 0 and nothing is denoised.
    noisy = db_display(speckle(phantom(SHAPE), seed=2)).astype(np.float32)
    padded = np.zeros((SHAPE[0], 3 * SHAPE[1]), np.float32)
    padded[:, SHAPE[1] : 2 * SHAPE[1]] = noisy
    out = despeckle(padded, homomorphic=False)[:, SHAPE[1] : 2 * SHAPE[1]]
    assert flat_region(out).std() < 0.5 * flat_region(noisy).std()
    assert np.abs(despeckle(padded, homomorphic=False)[:, :100]).max() < 1e-3


@pytest.mark.parametrize(
    "shape", [(960, 128), (961, 127), (37, 53), (16, 300), (15, 15), (5, 7), (1, 64)]
)
def test_despeckle_any_shape_float32(shape: tuple[int, int]) -> None:
    frame = speckle(np.ones(shape, np.float32), seed=3).astype(np.float64)
    copy = frame.copy()
    out = despeckle(frame)
    assert out.shape == shape and out.dtype == np.float32
    assert np.isfinite(out).all() and (out > 0).all()
    np.testing.assert_array_equal(frame, copy)  # input untouched


def test_despeckle_dtypes_and_bad_input() -> None:
    noisy = speckle(phantom(SHAPE), seed=4)
    as_uint16 = (noisy / noisy.max() * 60000).astype(np.uint16)
    out = despeckle(as_uint16)
    assert out.dtype == np.float32 and out.max() > 1000  # scale kept, no uint16 wrap-around
    with_zeros = noisy.copy()
    with_zeros[:10] = 0
    assert np.isfinite(despeckle(with_zeros)).all()
    constant = np.full((64, 64), 3.0)
    np.testing.assert_allclose(despeckle(constant), constant, rtol=1e-5)  # no noise: unchanged
    with pytest.raises(ValueError, match="positive"):
        despeckle(np.zeros((64, 64)))
    bad = noisy.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        despeckle(bad)
    with pytest.raises(ValueError, match="2-D"):
        despeckle(np.ones((4, 64, 64)))
    with pytest.raises(ConfigError):
        despeckle(noisy, wavelet="bior2.2")  # not orthogonal


# --- log compression and scaling -----------------------------------------------------------


def test_log_compress_known_values() -> None:
    peak = 200.0
    values = peak * np.array([[1.0, 10 ** (-60 / 20), 10 ** (-30 / 20), 10 ** (-80 / 20), 0.0]])
    out = log_compress(values, 60.0)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0], [1.0, 0.0, 0.5, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(log_compress(values, 40.0)[0, 2], 0.25, atol=1e-6)  # -30 of 40 dB


def test_log_compress_monotonic_and_integer_input() -> None:
    ramp = np.geomspace(1e-5, 1.0, 1000)[None, :]
    out = log_compress(ramp)
    assert (np.diff(out[0]) >= 0).all() and out.min() == 0.0 and out.max() == 1.0
    wide = np.array([[65535, 65, 0]], np.uint16)  # full-scale 16-bit must not overflow
    np.testing.assert_allclose(log_compress(wide)[0], [1.0, 0.0, 0.0], atol=1e-3)


@pytest.mark.parametrize(
    "frame", [np.zeros((8, 8)), np.full((8, 8), -1.0), np.array([[1.0, np.inf]])]
)
def test_log_compress_refuses_unusable_frames(frame: np.ndarray) -> None:
    with pytest.raises(ValueError):
        log_compress(frame)


def test_to_unit_range() -> None:
    np.testing.assert_allclose(
        to_unit_range(np.array([[0, 128, 255]], np.uint8))[0], [0, 128 / 255, 1], atol=1e-7
    )
    np.testing.assert_allclose(
        to_unit_range(np.array([[0, 65535]], np.uint16))[0], [0, 1], atol=1e-7
    )
    np.testing.assert_allclose(to_unit_range(np.array([[-3.0, 1.0, 5.0]]))[0], [0, 0.5, 1])
    np.testing.assert_allclose(to_unit_range(np.array([[-1e300, 1e300]]))[0], [0, 1])
    np.testing.assert_allclose(to_unit_range(np.array([[-100, 0, 100]], np.int16))[0], [0, 0.5, 1])
    assert to_unit_range(np.zeros((4, 4), np.uint8)).dtype == np.float32  # 8-bit: full scale
    with pytest.raises(ValueError, match="constant"):
        to_unit_range(np.full((4, 4), 0.3))


# --- resizing ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(256, 256), (128, 64), (1024, 512), (960, 128)])
def test_resize_image_shape_dtype(size: tuple[int, int]) -> None:
    image = np.random.default_rng(0).random(SHAPE)
    out = resize_image(image, size)
    assert out.shape == size and out.dtype == np.float32
    assert out.min() >= image.min() - 1e-6 and out.max() <= image.max() + 1e-6
    np.testing.assert_allclose(resize_image(np.full(SHAPE, 0.25), size), 0.25, atol=1e-6)


def test_resize_image_averages_when_shrinking_and_interpolates_when_enlarging() -> None:
    # 960 -> 256 rows: alternating 0/1 rows must average out (no aliasing).
    stripes = np.zeros(SHAPE, np.float32)
    stripes[::2] = 1
    assert resize_image(stripes, (256, 256)).std() < 0.1
    # 128 -> 256 columns: a ramp must stay a ramp (no pixel replication), even while the
    # other axis shrinks.
    ramp = np.tile(np.arange(SHAPE[1], dtype=np.float32), (SHAPE[0], 1))
    row = resize_image(ramp, (256, 256))[100]
    assert len(np.unique(row)) > 250


def test_shrink_interpolation_is_configurable_and_checked() -> None:
    # Thin bright lines every 8 rows (like a pleural line among speckle): area averaging keeps
    # every output row at the lines' mean, point sampling (linear) hits or misses them.
    lines = np.zeros(SHAPE, np.float32)
    lines[::8] = 1
    area = resize_image(lines, (128, 128), "area")
    linear = resize_image(lines, (128, 128), "linear")
    assert area.std() < 0.05 < linear.std()
    frame = np.random.default_rng(0).rayleigh(size=SHAPE).astype(np.float32)
    out = {
        name: preprocess_frame(frame, "linear", PreprocessConfig((64, 64), interpolation=name))
        for name in ("area", "linear", "cubic")
    }
    assert not np.allclose(out["area"], out["linear"])
    assert not np.allclose(out["linear"], out["cubic"])
    with pytest.raises(ConfigError, match=r"data\.preprocess\.interpolation='nearest'"):
        PreprocessConfig(interpolation="nearest")


def test_resize_mask_binary_thin_structures_and_alignment() -> None:
    mask = np.zeros(SHAPE, np.uint8)
    mask[400:408] = 1  # an 8-row band: ~2 rows after 960 -> 256
    mask[:, 70:72] = 1  # a 2-column line: ~4 columns after 128 -> 256
    out = resize_mask(mask, (256, 256))
    assert out.dtype == np.uint8 and out.shape == (256, 256)
    assert set(np.unique(out)) == {0, 1}
    assert (out[100:115].sum(axis=0) >= 2).all()  # the band survives in every column
    assert (out.sum(axis=1) >= 4).all()  # the line survives in every row
    assert out.mean() == pytest.approx(mask.mean(), rel=0.3)
    # Mask and image resizing agree on where things are (pixel-centre convention; OpenCV's
    # plain INTER_NEAREST would put the mask 0.43 px lower than the image).
    block = np.zeros(SHAPE, np.uint8)
    block[301:667, 37:93] = 1
    image = resize_image(block, (256, 256))
    got = resize_mask(block, (256, 256))
    expected = image >= 0.5
    assert (got & expected).sum() / (got | expected).sum() > 0.995
    np.testing.assert_allclose(centroid(got), centroid(image), atol=0.25)
    assert resize_mask(block.astype(bool), (64, 32)).dtype == np.uint8
    with pytest.raises(ValueError, match="binary"):
        resize_mask(block * 255, (256, 256))
    with pytest.raises(ValueError, match="binary"):
        resize_mask(block * 0.5, (256, 256))


# --- the whole frame -----------------------------------------------------------------------


@pytest.mark.parametrize("despeckling", [True, False])
def test_preprocess_linear_960x128(despeckling: bool) -> None:
    cfg = PreprocessConfig(despeckle=despeckling)
    frame = speckle(phantom(SHAPE), seed=5).astype(np.float64) * 1e4  # any scale
    out = preprocess_frame(frame, "linear", cfg)
    assert out.shape == (256, 256) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1 and out.max() > 0.8
    # Log compression keeps the decades apart: the 1.0, 0.5 and 0.1 bands sit 6 and 20 dB
    # apart, i.e. 6/60 and 20/60 of the range at 60 dB (linear scaling would squash the dim
    # bands towards 0 instead).
    top, bright, bottom = np.median(out[10:50]), np.median(out[80:140, 10:70]), np.median(out[170:])
    assert bright - top == pytest.approx(20 / 60, abs=0.02)
    assert bright - bottom == pytest.approx(20 * np.log10(2) / 60, abs=0.02)
    uint16 = (frame / frame.max() * 65535).astype(np.uint16)
    np.testing.assert_allclose(preprocess_frame(uint16, "linear", cfg), out, atol=0.01)


def test_preprocess_8bit_frame() -> None:
    frame = (db_display(speckle(phantom(SHAPE), seed=6)) * 255).astype(np.uint8)
    for cfg in (PreprocessConfig(), PreprocessConfig(image_size=(128, 64), despeckle=False)):
        out = preprocess_frame(frame, "log", cfg)
        assert out.shape == cfg.image_size and out.dtype == np.float32
        assert out.min() >= 0 and out.max() <= 1
    plain = preprocess_frame(frame, "log", PreprocessConfig(image_size=SHAPE, despeckle=False))
    np.testing.assert_allclose(plain, frame / 255, atol=1e-6)  # /255, not min-max


# --- kinds and configuration ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "dtype", "expected"),
    [
        ("auto", "a.mat", np.float64, "linear"),
        ("auto", "a.mat", np.uint8, "linear"),
        ("auto", "a.tif", np.float32, "linear"),
        ("auto", "a.tiff", np.uint16, "linear"),
        ("auto", "a.TIF", np.uint8, "log"),
        ("auto", "a.png", np.uint8, "log"),
        ("auto", "a.png", np.bool_, "log"),
        ("auto", "a.png", np.uint16, "linear"),
        ("log", "a.mat", np.float64, "log"),
        ("linear", "a.png", np.uint8, "linear"),
    ],
)
def test_resolve_kind(kind: str, name: str, dtype: type, expected: str) -> None:
    assert resolve_kind(kind, Path(name), np.dtype(dtype)) == expected


def test_resolve_kind_unknown() -> None:
    with pytest.raises(ConfigError, match="bmode"):
        resolve_kind("bmode", Path("a.mat"), np.dtype(np.float64))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image_size", (128, 128)),
        ("kind", "linear"),
        ("dynamic_range_db", 50.0),
        ("despeckle", False),
        ("wavelet", "db4"),
        ("levels", 4),
        ("shrinkage", "classic"),
    ],
)
def test_fingerprint_changes_with_every_field(field: str, value: object) -> None:
    base = PreprocessConfig()
    changed = replace(base, **{field: value})
    assert changed.fingerprint() != base.fingerprint()
    assert changed.fingerprint()[field] == (list(value) if field == "image_size" else value)
    json.dumps(changed.fingerprint())


def test_config_normalises_and_validates() -> None:
    # Hydra passes lists and ints: equal settings must give equal fingerprints.
    hydra_like = PreprocessConfig(image_size=[256, 256], dynamic_range_db=60)  # type: ignore[arg-type]
    assert hydra_like.fingerprint() == PreprocessConfig().fingerprint()
    assert hydra_like.image_size == (256, 256)
    for bad in (
        {"kind": "bmode"},
        {"wavelet": "nope"},
        {"wavelet": "bior2.2"},
        {"levels": 0},
        {"dynamic_range_db": 0},
        {"image_size": (256,)},
        {"shrinkage": "hard"},
    ):
        with pytest.raises(ConfigError):
            PreprocessConfig(**bad)  # type: ignore[arg-type]


# --- benchmark function ----------------------------------------------------------------------


def test_measure_despeckle_smoke() -> None:
    pytest.importorskip("skimage")
    result = measure_despeckle(repeats=2, warmup=1)
    assert {"despeckle_ms_per_frame", "skimage_ms_per_frame", "despeckle_vs_skimage"} <= set(result)
    assert all(value > 0 for value in result.values())
