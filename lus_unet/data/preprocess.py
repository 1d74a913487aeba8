"""Frame preprocessing: homomorphic wavelet despeckling, log compression, scaling and resizing.

A raw LUS frame is a linear-envelope B-mode image (960 depth x 128 lateral samples in the paper's
scanner) whose values span several decades. It is despeckled in the log domain (paper eq. 1:
multiplicative speckle becomes additive there), log-compressed to a display dynamic range below
the frame's maximum, resized and scaled to [0, 1]. Frames that are already log-compressed (8-bit
PNG/TIFF exports) are only scaled and resized: ``despeckle: auto`` despeckles linear-envelope
frames only, since a display export has been despeckled by whoever made it (the authors' TIFFs
were), and ``despeckle: true`` forces it on them too.

All functions are pure and vectorised; bad input raises :class:`ValueError` (the caller names
the file) and a bad configuration raises :class:`~lus_unet.errors.ConfigError`.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import pywt

from lus_unet.errors import ConfigError

FrameKind = Literal["linear", "log"]
FRAME_KINDS: tuple[str, ...] = ("linear", "log")
KINDS: tuple[str, ...] = ("auto", *FRAME_KINDS)
# data.preprocess.despeckle: auto = linear-envelope frames only (see :func:`despeckles`).
DESPECKLE_MODES: tuple[str | bool, ...] = ("auto", True, False)

# Bump when the algorithm changes the output for the same fields: cached preprocessed data
# keyed by the fingerprint must then be rebuilt.
PREPROCESS_VERSION = 1

# The homomorphic transform clamps zeros (and negatives, which an envelope cannot have but
# interpolated exports sometimes do) to this fraction of the frame maximum before the log:
# -120 dB is below any display dynamic range, so it never shows, yet it bounds the log-domain
# jumps that zero padding would otherwise feed into the noise and signal estimates.
LOG_FLOOR = 1e-6
# Median absolute deviation of a zero-mean Gaussian = its 75th percentile = 0.6745 sigma
# (Donoho & Johnstone); the exact value, as scikit-image uses.
_MAD_TO_SIGMA = 0.6744897501960817
SHRINKAGES: tuple[str, ...] = ("adaptive", "classic")
# How an axis is shrunk (an enlarged axis is always bilinear): OpenCV's method for each name.
SHRINK_INTERPOLATIONS: dict[str, int] = {
    "area": cv2.INTER_AREA,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
}
# Adaptive shrinkage windows, in coefficients: 15 along the edge direction of the horizontal
# and vertical detail bands, 5x5 for the diagonal ones, and a margin of 1.5 noise variances.
# Tuned on the speckle phantom of lus_unet.bench.despeckle (independent speckle): against
# classic BayesShrink, ENL gain ~41x instead of ~27x and 20 dB step edges about half as wide
# (10-90%: ~1.4 px vs ~3.1 px, mean over edge positions and seeds). Results barely move between
# 15 and 25, 5 and 7, or margins 1 to 2.5; a larger margin trades edge sharpness for ENL.
_LOCAL_WINDOW = 15
_LOCAL_WINDOW_DIAGONAL = 5
_LOCAL_MARGIN = 1.5
# The per-subband noise level is a median over at least this many coefficients (a relative
# standard error near 1%); selecting it from all 32k of a 960x128 frame's finest bands cost
# more than the rest of the shrinkage.
_NOISE_SAMPLES = 8192


@dataclass(frozen=True)
class PreprocessConfig:
    """How raw frames become network inputs; validated on construction.

    Args:
        image_size: (height, width) after resizing.
        kind: ``auto`` (by file type and dtype, see :func:`resolve_kind`), ``linear`` (envelope,
            log-compressed here) or ``log`` (already log-compressed export).
        dynamic_range_db: displayed range below the frame maximum for linear frames.
        despeckle: wavelet despeckling (paper eq. 1): ``auto`` for linear-envelope frames only,
            ``True`` for every frame, ``False`` for none (see :func:`despeckles`).
        wavelet: orthogonal PyWavelets wavelet for despeckling.
        levels: DWT levels for despeckling (capped by what the frame size allows).
        shrinkage: ``adaptive`` (per-subband noise, per-coefficient signal: removes correlated
            speckle and keeps edges) or ``classic`` (textbook BayesShrink); see
            :func:`despeckle`.
        interpolation: how a shrunk axis (the 960-row depth) is resampled: ``area``
            (averaging, no aliasing), ``linear`` or ``cubic``; see :func:`resize_image`.
    """

    image_size: tuple[int, int] = (256, 256)
    kind: str = "auto"
    dynamic_range_db: float = 60.0
    despeckle: bool | str = "auto"
    # sym4: 8 taps like db4 but near-symmetric, so what shrinkage leaves around an edge is
    # balanced on both sides instead of skewed to one. On the speckle phantom of
    # lus_unet.bench.despeckle (independent and depth-correlated speckle) it gave the sharpest
    # edges of db2/db4/sym4/sym8/coif2 at the same ENL gain and PSNR; haar scores best on that
    # piecewise-constant phantom but turns smooth anatomy blocky.
    wavelet: str = "sym4"
    levels: int = 3
    shrinkage: str = "adaptive"
    interpolation: str = "area"

    def __post_init__(self) -> None:
        # Hydra hands lists and ints where tuples and floats are declared: normalise so that
        # equal settings give equal fingerprints.
        try:
            size = tuple(int(s) for s in self.image_size)
            dynamic_range_db = float(self.dynamic_range_db)
            levels = int(self.levels)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"invalid preprocessing setting: {error}") from error
        if len(size) != 2 or min(size) < 1:
            raise ConfigError(f"image_size must be two positive ints, got {self.image_size!r}")
        if self.kind not in KINDS:
            raise ConfigError(f"unknown frame kind {self.kind!r}; expected one of {KINDS}")
        if not np.isfinite(dynamic_range_db) or dynamic_range_db <= 0:
            raise ConfigError(f"dynamic_range_db must be > 0, got {self.dynamic_range_db}")
        _check_wavelet(self.wavelet)
        if levels != self.levels or levels < 1:
            raise ConfigError(f"levels must be a positive int, got {self.levels!r}")
        if self.shrinkage not in SHRINKAGES:
            raise ConfigError(f"unknown shrinkage {self.shrinkage!r}; expected one of {SHRINKAGES}")
        if self.interpolation not in SHRINK_INTERPOLATIONS:
            raise ConfigError(
                f"data.preprocess.interpolation={self.interpolation!r}: unknown value; valid: "
                f"{', '.join(SHRINK_INTERPOLATIONS)}"
            )
        object.__setattr__(self, "image_size", size)
        object.__setattr__(self, "dynamic_range_db", dynamic_range_db)
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "despeckle", _despeckle_mode(self.despeckle))

    def fingerprint(self) -> dict[str, Any]:
        """All fields as a JSON-able dict, plus the algorithm version (for cache keys and logs)."""
        fields = asdict(self)
        fields["image_size"] = list(self.image_size)
        fields["version"] = PREPROCESS_VERSION
        return fields


def _despeckle_mode(value: Any) -> bool | str:
    """``auto``, ``True`` or ``False`` (numpy booleans as Python ones), or a ConfigError."""
    if isinstance(value, str):
        if value == "auto":
            return value
    elif isinstance(value, bool | np.bool_):
        return bool(value)
    raise ConfigError(f"data.preprocess.despeckle={value}: unknown value; valid: auto, true, false")


def despeckles(setting: bool | str, kind: FrameKind) -> bool:
    """Whether a frame of this kind is despeckled under ``data.preprocess.despeckle``.

    ``auto`` despeckles linear-envelope frames (raw scanner data, MAT floats: the paper's
    despeckling belongs before their log compression) and leaves log-compressed display
    exports (8-bit PNG/TIFF) alone: those were processed for display already, the authors'
    TIFF exports despeckled among them, and a second pass only blurs edges. ``True`` and
    ``False`` apply to every frame.

    Args:
        setting: ``auto``, ``True`` or ``False``.
        kind: the frame's kind, as :func:`resolve_kind` decided it.
    """
    if setting == "auto":
        return kind == "linear"
    return bool(setting)


def _check_wavelet(name: str) -> pywt.Wavelet:
    """The named orthogonal discrete wavelet, or a ConfigError."""
    if not isinstance(name, str):
        raise ConfigError(f"wavelet must be a name such as 'sym4', got {name!r}")
    return _orthogonal_wavelet(name)


@functools.lru_cache(maxsize=32)
def _orthogonal_wavelet(name: str) -> pywt.Wavelet:
    """:func:`_check_wavelet` for a string, cached (it runs once per frame)."""
    if name not in pywt.wavelist(kind="discrete"):
        raise ConfigError(f"unknown wavelet {name!r}; see pywt.wavelist(kind='discrete')")
    wavelet = pywt.Wavelet(name)
    if not wavelet.orthogonal:
        # BayesShrink assumes the noise keeps its variance in every subband: orthogonal only.
        raise ConfigError(f"wavelet {name!r} is not orthogonal; use e.g. sym4, db4 or haar")
    return wavelet


def resolve_kind(kind: str, path: Path, dtype: np.dtype) -> FrameKind:
    """The frame kind to preprocess a file as, resolving ``auto`` by file type and dtype.

    ``auto``: a ``.mat`` file is a linear envelope; otherwise an 8-bit (or boolean) array is a
    log-compressed display export and anything wider (16/32-bit integers, floats) is linear.

    Args:
        kind: ``auto``, ``linear`` or ``log``.
        path: the file the frame came from (only its suffix is used).
        dtype: the frame's dtype as read.

    Raises:
        ConfigError: for an unknown kind.
    """
    if kind in FRAME_KINDS:
        return kind  # type: ignore[return-value]
    if kind != "auto":
        raise ConfigError(f"unknown frame kind {kind!r}; expected one of {KINDS}")
    if Path(path).suffix.lower() == ".mat":
        return "linear"
    dtype = np.dtype(dtype)
    if dtype.kind == "b" or (dtype.kind in "iu" and dtype.itemsize == 1):
        return "log"
    return "linear"


def _checked_2d(frame: np.ndarray, name: str = "frame") -> np.ndarray:
    """The frame as a 2-D numeric array with finite values (native dtype), or a ValueError."""
    frame = np.asarray(frame)
    if frame.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {frame.shape}")
    if frame.dtype.kind not in "biuf":
        raise ValueError(f"{name} has non-numeric dtype {frame.dtype}")
    if frame.size == 0:
        raise ValueError(f"{name} is empty")
    # min and max propagate NaN and expose inf, without a boolean array as large as the frame.
    if frame.dtype.kind == "f" and not (np.isfinite(frame.min()) and np.isfinite(frame.max())):
        raise ValueError(f"{name} has non-finite values (NaN or inf)")
    return frame


def _as_float32_2d(frame: np.ndarray, name: str = "frame") -> np.ndarray:
    """A checked 2-D frame as float32 (no copy if it already is), or a ValueError."""
    frame = _checked_2d(frame, name)
    with np.errstate(over="ignore"):
        out = frame.astype(np.float32, copy=False)
    if frame.dtype.itemsize > 4 and frame.dtype.kind == "f" and not np.isfinite(out).all():
        raise ValueError(f"{name} has values beyond the float32 range")
    return out


def _wide(frame: np.ndarray) -> bool:
    """Whether float32 arithmetic could overflow or round the frame's values (64-bit dtypes)."""
    return frame.dtype.itemsize > 4 and frame.dtype.kind in "iuf"


def _noise_sigma(band: np.ndarray, max_samples: int | None = None) -> float:
    """Noise standard deviation in a detail subband: median absolute deviation / 0.6745.

    Exact zeros are left out: flat padding (a black border, a saturated region) would otherwise
    drag the median to 0 and switch the denoising off.

    Args:
        band: the subband.
        max_samples: estimate from every k-th coefficient (raster order, so spread over the whole
            band) when the band holds more than this many; None uses them all.
    """
    magnitudes = np.abs(band).ravel()
    if max_samples is not None and magnitudes.size > max_samples:
        magnitudes = magnitudes[:: magnitudes.size // max_samples]
    nonzero = np.count_nonzero(magnitudes)
    if nonzero == 0:
        return 0.0
    # The zeros sort first, so the median of the nonzero magnitudes sits at index k (odd count)
    # or k - 1 and k (even). Partitioning at both is also several times faster in numpy than
    # at a single index, and avoids copying out the nonzero ones.
    k = magnitudes.size - nonzero + nonzero // 2
    part = np.partition(magnitudes, [max(k - 1, 0), k])
    median = float(part[k]) if nonzero % 2 else 0.5 * (float(part[k - 1]) + float(part[k]))
    return median / _MAD_TO_SIGMA


def _soft(band: np.ndarray, threshold: np.ndarray | float) -> np.ndarray:
    """Soft shrinkage sign(c) max(|c| - t, 0); an infinite threshold zeroes the coefficient."""
    shrunk = np.abs(band) - threshold
    np.maximum(shrunk, 0, out=shrunk)
    return np.copysign(shrunk, band, out=shrunk)


def _classic_shrink(band: np.ndarray, noise_var: float) -> np.ndarray:
    """Classic BayesShrink: one threshold noise_var / sigma_signal for the whole subband."""
    signal_var = float(np.mean(band * band)) - noise_var
    if signal_var <= 0:
        return np.zeros_like(band)  # all noise
    # A Python float threshold keeps float32 coefficients float32 (an np.float64 would not).
    return _soft(band, float(noise_var / np.sqrt(signal_var)))


def _adaptive_shrink(band: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Spatially adaptive BayesShrink with this subband's own noise level.

    Noise: each subband's own MAD rather than the finest diagonal band's. Speckle is spatially
    correlated (a speckle grain spans several depth samples), so its energy sits at coarser
    levels and in the bands along the grain; the finest diagonal band then sees almost none
    of it (measured on speckle correlated like lus_unet.data.synthetic's: ENL gain x1.0, i.e.
    nothing removed, against x6-7 with per-subband estimates; Johnstone & Silverman 1997).

    Signal: estimated around each coefficient in a window elongated along the edges the band
    responds to, rather than over the whole subband. A subband-wide estimate is dominated by
    the flat regions, so its threshold exceeds the few edge coefficients and erases edges from
    the finest levels (measured: 10-90% widths of 3-7 px, as wide as a Gaussian blur of the
    same speckle reduction). Locally, an edge has a large signal variance (small threshold,
    edge kept) and speckle none (coefficient removed).
    """
    sigma = _noise_sigma(band, _NOISE_SAMPLES)
    if sigma == 0.0:
        return band  # no noise measurable (e.g. a piecewise-constant region)
    noise_var = sigma * sigma
    squared = band * band
    n = window[0] * window[1]
    energy = cv2.blur(squared, window, borderType=cv2.BORDER_REFLECT_101)
    # Leave the coefficient itself out of its own estimate, (n E - c^2) / (n - 1): a lone
    # speckle spike must not vouch for itself, while an edge is vouched for by its neighbours
    # along it. Then subtract the noise variance plus a margin: the window energy of pure noise
    # scatters around noise_var, and the margin keeps such windows at zero signal (infinite
    # threshold) instead of letting their upward fluctuations through as speckle remnants.
    energy *= np.float32(n / (n - 1))
    squared *= np.float32(1 / (n - 1))
    energy -= squared
    energy -= np.float32((1.0 + _LOCAL_MARGIN) * noise_var)
    signal_std = np.sqrt(np.maximum(energy, 0, out=energy), out=energy)
    with np.errstate(divide="ignore"):
        threshold = np.divide(np.float32(noise_var), signal_std, out=signal_std)
    return _soft(band, threshold)


def _shrink_details(coeffs: list[Any], shrinkage: str) -> list[Any]:
    """Soft-shrink every detail subband of a wavedec2 decomposition (approximation kept)."""
    if shrinkage == "classic":
        sigma = _noise_sigma(coeffs[-1][2])  # the finest diagonal band's, as in the textbook
        if sigma == 0.0:
            return coeffs  # no noise measurable (e.g. a piecewise-constant frame): leave it
        return [coeffs[0]] + [
            tuple(_classic_shrink(band, sigma * sigma) for band in level) for level in coeffs[1:]
        ]
    # cv2 windows are (width, height): horizontal-detail coefficients line up along rows (a
    # horizontal edge such as a rib's surface), vertical-detail ones along columns.
    k, d = _LOCAL_WINDOW, _LOCAL_WINDOW_DIAGONAL
    return [coeffs[0]] + [
        (
            _adaptive_shrink(horizontal, (k, 1)),
            _adaptive_shrink(vertical, (1, k)),
            _adaptive_shrink(diagonal, (d, d)),
        )
        for horizontal, vertical, diagonal in coeffs[1:]
    ]


def despeckle(
    frame: np.ndarray,
    wavelet: str = "sym4",
    levels: int = 3,
    *,
    homomorphic: bool = True,
    shrinkage: str = "adaptive",
) -> np.ndarray:
    """Homomorphic wavelet despeckling (paper eq. 1) with BayesShrink soft thresholding.

    log -> multi-level 2-D DWT -> soft shrinkage of the detail subbands with the BayesShrink
    threshold sigma_noise^2 / sigma_signal (sigma_noise from a median absolute deviation /
    0.6745) -> inverse DWT -> exp. The approximation band is kept.

    Args:
        frame: 2-D frame of any numeric dtype; a non-negative linear envelope when
            ``homomorphic`` (zeros and negatives are clamped to 1e-6 of the maximum).
        wavelet: orthogonal PyWavelets wavelet name.
        levels: decomposition levels, capped at what the frame size allows.
        homomorphic: work in the log domain (linear envelope); False shrinks the values directly
            (data that are already log-compressed).
        shrinkage: ``adaptive`` estimates sigma_noise per subband and sigma_signal around each
            coefficient, in a window along the subband's edge direction (removes correlated
            speckle, keeps edges sharp); ``classic`` is textbook BayesShrink, sigma_noise from
            the finest diagonal band and one sigma_signal per subband (as scikit-image's
            ``denoise_wavelet``; removes little correlated speckle and blurs weak edges).

    Returns:
        float32 array of the input's shape.

    Raises:
        ValueError: a non-2-D or non-finite frame, or (homomorphic) one without positive values.
        ConfigError: an unknown or non-orthogonal wavelet, or an unknown shrinkage.
    """
    if shrinkage not in SHRINKAGES:
        raise ConfigError(f"unknown shrinkage {shrinkage!r}; expected one of {SHRINKAGES}")
    wav = _check_wavelet(wavelet)
    if homomorphic:
        frame = _checked_2d(frame)
        peak = float(frame.max())
        if peak <= 0:
            raise ValueError("frame has no positive values (all zero?): cannot take its log")
        # 64-bit input takes its log in 64 bits: the log of any double fits a float32, the
        # double itself may not.
        x = frame.astype(np.float64 if _wide(frame) else np.float32, copy=False)
        x = np.log(np.maximum(x, x.dtype.type(peak * LOG_FLOOR))).astype(np.float32, copy=False)
    else:
        x = _as_float32_2d(frame)
    level = min(int(levels), pywt.dwt_max_level(min(x.shape), wav.dec_len))
    if level >= 1:
        coeffs = pywt.wavedec2(x, wav, mode="symmetric", level=level)
        rec = pywt.waverec2(_shrink_details(coeffs, shrinkage), wav, mode="symmetric")
        # waverec2 returns one extra row/column for odd sizes.
        x = rec[: x.shape[0], : x.shape[1]]
    if homomorphic:
        x = np.exp(x)
    elif x is frame:
        x = x.copy()  # never hand back the caller's array
    return np.ascontiguousarray(x, dtype=np.float32)


def log_compress(frame: np.ndarray, dynamic_range_db: float = 60.0) -> np.ndarray:
    """Linear envelope -> dB below the frame maximum, clipped to [-DR, 0] and mapped to [0, 1].

    The maximum maps to 1, ``max * 10**(-DR/20)`` and anything below it (zeros and negatives
    included) to 0, -DR/2 dB to 0.5: ``1 + 20 log10(x / max) / DR``.

    Args:
        frame: 2-D linear-envelope (amplitude) frame of any numeric dtype.
        dynamic_range_db: displayed dynamic range DR in dB (> 0).

    Returns:
        float32 array of the input's shape in [0, 1].

    Raises:
        ValueError: a non-finite frame, one without positive values, or DR <= 0.
    """
    if not np.isfinite(dynamic_range_db) or dynamic_range_db <= 0:
        raise ValueError(f"dynamic_range_db must be > 0, got {dynamic_range_db}")
    frame = _checked_2d(frame)
    peak = float(frame.max())
    if peak <= 0:
        raise ValueError("frame has no positive values (all zero?): cannot log-compress it")
    # Relative to the peak first, in 64 bits for 64-bit input: then float32 suffices.
    if _wide(frame):
        x = (frame / peak).astype(np.float32)
    else:
        x = frame.astype(np.float32)
        x /= np.float32(peak)  # a division, so that the maximum maps to exactly 1
    # Flooring at the bottom of the range both avoids log(0) and performs the lower clip.
    out = np.log10(np.maximum(x, np.float32(10.0 ** (-dynamic_range_db / 20.0)), out=x), out=x)
    out *= np.float32(20.0 / dynamic_range_db)
    out += np.float32(1.0)
    return np.clip(out, 0.0, 1.0, out=out)


def to_unit_range(frame: np.ndarray) -> np.ndarray:
    """Scale already log-compressed data to [0, 1] float32.

    uint8 is divided by 255 and uint16 by 65535 (the export's full scale, so the brightness of
    different frames stays comparable); booleans map to {0, 1}; other dtypes are min-max scaled.

    Args:
        frame: 2-D frame.

    Raises:
        ValueError: a non-finite frame, or a constant one that min-max scaling cannot stretch.
    """
    frame = np.asarray(frame)
    if frame.dtype == np.uint8:
        return _as_float32_2d(frame) * np.float32(1 / 255)
    if frame.dtype == np.uint16:
        return _as_float32_2d(frame) * np.float32(1 / 65535)
    if frame.dtype == np.bool_:
        return _as_float32_2d(frame)
    # float64 arithmetic: float32 would overflow on wide ranges and round int32/int64 data.
    wide = _checked_2d(frame).astype(np.float64, copy=False)
    lo, hi = float(wide.min()), float(wide.max())
    if hi == lo:
        raise ValueError(f"frame is constant ({lo:g}): cannot scale it to [0, 1]")
    return ((wide - lo) * (1.0 / (hi - lo))).astype(np.float32)


def resize_image(
    image: np.ndarray, size: tuple[int, int], interpolation: str = "area"
) -> np.ndarray:
    """Resize a 2-D image to (height, width): area averaging along a shrunk axis, else bilinear.

    The axes are resized one after the other, so a 960x128 -> 256x256 frame is averaged (not
    aliased) along the depth and interpolated (not pixel-replicated) along the width; OpenCV's
    INTER_AREA alone would replicate pixels along the enlarged axis.

    Args:
        image: 2-D array of any numeric dtype.
        size: (height, width) of the result.
        interpolation: the method of a shrunk axis (``area``, ``linear``, ``cubic``).

    Returns:
        float32 array of shape ``size``.
    """
    shrink = SHRINK_INTERPOLATIONS[interpolation]
    x = _as_float32_2d(image, "image")
    height, width = (int(s) for s in size)
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive, got {size}")
    if x.shape[0] != height:
        method = shrink if height < x.shape[0] else cv2.INTER_LINEAR
        x = cv2.resize(x, (x.shape[1], height), interpolation=method)  # cv2 takes (w, h)
    if x.shape[1] != width:
        method = shrink if width < x.shape[1] else cv2.INTER_LINEAR
        x = cv2.resize(x, (width, height), interpolation=method)
    if x is image:
        x = x.copy()
    return x.reshape(height, width)  # cv2 drops a unit axis


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a binary mask to (height, width) by nearest neighbour; stays uint8 {0, 1}.

    Uses pixel-centre sampling (OpenCV's INTER_NEAREST_EXACT, as PIL and scikit-image do), so
    the mask stays aligned with :func:`resize_image`; plain INTER_NEAREST shifts it by up to one
    source pixel towards the origin.

    Args:
        mask: 2-D array of 0/1 (bool or any integer dtype).
        size: (height, width) of the result.

    Raises:
        ValueError: a non-2-D mask or one with values other than 0 and 1.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    if mask.dtype != np.bool_ and not ((mask == 0) | (mask == 1)).all():
        raise ValueError("mask is not binary {0, 1}")
    height, width = (int(s) for s in size)
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive, got {size}")
    m = mask.astype(np.uint8)  # always a copy: the result never aliases the input
    if m.shape == (height, width):
        return m
    out = cv2.resize(m, (width, height), interpolation=cv2.INTER_NEAREST_EXACT)
    return out.reshape(height, width)


def preprocess_frame(frame: np.ndarray, kind: FrameKind, cfg: PreprocessConfig) -> np.ndarray:
    """One frame as a network input: float32 (height, width) in [0, 1].

    linear: [homomorphic despeckle] -> log compression to ``cfg.dynamic_range_db``.
    log: unit-range scaling -> [despeckle on the values]. Scaling first keeps the export's full
    scale (uint8 /255) rather than min-max stretching the despeckled floats.
    Which frames are despeckled: :func:`despeckles`.
    Then resize to ``cfg.image_size`` and clip to [0, 1].

    Args:
        frame: 2-D frame as read from its file, any numeric dtype.
        kind: ``linear`` or ``log`` (see :func:`resolve_kind`).
        cfg: the preprocessing settings.

    Raises:
        ValueError: a frame that cannot be preprocessed (non-finite, all zero, constant float).
    """
    if kind == "linear":
        x = (
            despeckle(frame, cfg.wavelet, cfg.levels, shrinkage=cfg.shrinkage)
            if despeckles(cfg.despeckle, kind)
            else frame
        )
        x = log_compress(x, cfg.dynamic_range_db)
    elif kind == "log":
        x = to_unit_range(frame)
        if despeckles(cfg.despeckle, kind):
            x = despeckle(x, cfg.wavelet, cfg.levels, homomorphic=False, shrinkage=cfg.shrinkage)
    else:
        raise ConfigError(f"unknown frame kind {kind!r}; expected one of {FRAME_KINDS}")
    x = resize_image(x, cfg.image_size, cfg.interpolation)
    return np.clip(x, 0.0, 1.0, out=x)
