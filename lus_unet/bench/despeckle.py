"""Despeckling benchmark: our homomorphic BayesShrink against scikit-image's, on one frame."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from lus_unet.bench.timing import interleaved_times
from lus_unet.data.preprocess import LOG_FLOOR, PreprocessConfig, despeckle

# Mean of a Rayleigh variable is scale * sqrt(pi / 2): this scale gives unit-mean speckle, so the
# noisy phantom keeps the clean phantom's levels on average.
RAYLEIGH_UNIT_MEAN_SCALE = float(np.sqrt(2.0 / np.pi))


def phantom(shape: tuple[int, int] = (960, 128), step_db: float = 20.0) -> np.ndarray:
    """A piecewise-constant linear-envelope phantom: flat bands, a horizontal and a vertical step.

    Rows: [0, top) at 0.1; [top, 0.6 h) at 1.0 left of :func:`edge_column` and
    ``10 ** (-step_db / 20)`` right of it; [0.6 h, h) at 0.5, the flat region for ENL. ``top``
    (:func:`edge_row`) and the edge column are odd, so neither edge sits on the dyadic wavelet
    grid. The default 20 dB steps are rib-like (a bright rib surface over dark tissue or
    shadow).

    Args:
        shape: (height, width).
        step_db: contrast of the vertical step edge in dB (the horizontal one is 20 dB).

    Returns:
        float32 array of ``shape``.
    """
    height, width = shape
    clean = np.full(shape, 0.5, dtype=np.float32)
    top, bottom = edge_row(height), int(0.6 * height)
    clean[:top] = 0.1
    clean[top:bottom] = 1.0
    clean[top:bottom, edge_column(width) :] = 10.0 ** (-step_db / 20.0)
    return clean


def edge_row(height: int) -> int:
    """The first row below the phantom's horizontal step edge (about a quarter down)."""
    return int(0.25 * height) | 1


def edge_column(width: int) -> int:
    """The first column right of the phantom's vertical step edge (about 0.4 across)."""
    return int(0.4 * width) | 1


def speckle(
    clean: np.ndarray, seed: int = 0, correlation: tuple[float, float] | None = None
) -> np.ndarray:
    """``clean`` times unit-mean, fully developed Rayleigh amplitude speckle.

    Args:
        clean: the noise-free envelope.
        seed: random seed.
        correlation: None for speckle independent from pixel to pixel; else the Gaussian
            sigmas (rows, columns) in pixels of the scatterers' point-spread function, e.g.
            (2.0, 0.6) for grains elongated in depth as in :mod:`lus_unet.data.synthetic`.

    Returns:
        float32 array of ``clean``'s shape.
    """
    rng = np.random.default_rng(seed)
    if correlation is None:
        noise = rng.rayleigh(RAYLEIGH_UNIT_MEAN_SCALE, size=clean.shape)
    else:
        # The magnitude of a smoothed complex Gaussian field is Rayleigh with correlated grains.
        field = ndimage.gaussian_filter(rng.standard_normal((2, *clean.shape)), (0, *correlation))
        # E|z| = sqrt(pi E|z|^2) / 2 for a circular complex Gaussian z: scale to unit mean.
        field *= 2.0 / np.sqrt(np.pi * np.mean(field[0] ** 2 + field[1] ** 2))
        noise = np.hypot(field[0], field[1])
    return (clean * noise).astype(np.float32)


def measure_despeckle(repeats: int = 20, warmup: int = 3, seed: int = 0) -> dict[str, float]:
    """Time :func:`despeckle` against scikit-image's BayesShrink on a speckled 960x128 frame.

    Both run the whole homomorphic pipeline (log, shrink, exp) on the same frame with the same
    wavelet and levels (the :class:`PreprocessConfig` defaults). Ours runs with the default
    (adaptive) shrinkage and, like for like with scikit-image, with ``shrinkage="classic"``.

    Args:
        repeats: timed calls per method, taking turns (the median is reported).
        warmup: untimed calls of each first (imports, allocator, caches).
        seed: speckle seed.

    Returns:
        ``despeckle_ms_per_frame``, ``skimage_ms_per_frame``, their ratio
        ``despeckle_vs_skimage`` (below 1: ours is faster) and
        ``despeckle_classic_ms_per_frame``.
    """
    # scikit-image is a dev/bench dependency only.
    from skimage.restoration import denoise_wavelet

    cfg = PreprocessConfig()
    frame = speckle(phantom((960, 128)), seed)

    def ours() -> np.ndarray:
        return despeckle(frame, cfg.wavelet, cfg.levels, shrinkage=cfg.shrinkage)

    def ours_classic() -> np.ndarray:
        return despeckle(frame, cfg.wavelet, cfg.levels, shrinkage="classic")

    def theirs() -> np.ndarray:
        # Same floor as ours, so both shrink the same log-domain frame.
        logged = np.log(np.maximum(frame, np.float32(frame.max() * LOG_FLOOR)))
        shrunk = denoise_wavelet(
            logged,
            method="BayesShrink",
            mode="soft",
            wavelet=cfg.wavelet,
            wavelet_levels=cfg.levels,
            rescale_sigma=True,
        )
        return np.exp(shrunk).astype(np.float32)

    times = interleaved_times([ours, theirs, ours_classic], repeats, warmup)
    ours_ms, theirs_ms, classic_ms = (float(ms) for ms in np.median(times, axis=0) * 1e3)
    return {
        "despeckle_ms_per_frame": ours_ms,
        "skimage_ms_per_frame": theirs_ms,
        "despeckle_vs_skimage": ours_ms / theirs_ms,
        "despeckle_classic_ms_per_frame": classic_ms,
    }
