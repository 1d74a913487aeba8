"""The scene of a synthetic LUS frame, shared by the generator's profiles.

:func:`lus_scene` draws what every profile has (layered soft tissue with fascia lines, the
pleural line, the reverberation haze below it and its A-lines); :func:`rib_layout` and
:func:`paint_rib` place the ribs and draw their cortex band (the mask) and echo. The profiles
(:func:`lus_unet.data.synthetic.synth_lus_frame`, the standard one, and
:func:`lus_unet.data.synthetic_realistic.synth_lus_frame_realistic`) add the shadows, the
speckle and the gain in their own ways.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

FRAME_SHAPE = (960, 128)


def smooth_noise_1d(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Zero-mean, unit-std float32 Gaussian noise of length ``n``, smoothed.

    Args:
        rng: the source of randomness.
        n: the length.
        sigma: the smoothing Gaussian's standard deviation in samples.
    """
    pad = int(4 * sigma) + 1
    noise = ndimage.gaussian_filter1d(rng.standard_normal(n + 2 * pad), sigma)[pad:-pad]
    return ((noise - noise.mean()) / (noise.std() + 1e-12)).astype(np.float32)


def rib_layout(
    rng: np.random.Generator, width: int, pair_outside: float = 0.4, single_outside: float = 0.2
) -> list[tuple[float, float]]:
    """(centre column, half width) of one or two non-overlapping ribs, partly in view.

    Args:
        rng: the source of randomness.
        width: the frame's width in columns.
        pair_outside: the largest fraction of each rib of a pair that may lie outside the frame.
        single_outside: the same for a lone rib.
    """
    if rng.random() < 0.55:
        for _ in range(20):
            hw = rng.uniform(12.5, 30.0, size=2)
            gap = rng.uniform(22.0, 55.0)
            lo = -2.0 * pair_outside * hw[0]
            hi = width + 2.0 * pair_outside * hw[1] - (2 * hw[0] + gap + 2 * hw[1])
            if hi > lo:
                left = rng.uniform(lo, hi)
                c0 = left + hw[0]
                c1 = c0 + hw[0] + gap + hw[1]
                return [(c0, hw[0]), (c1, hw[1])]
    hw1 = rng.uniform(12.5, 30.0)
    inset = (1.0 - 2.0 * single_outside) * hw1
    return [(rng.uniform(inset, width - inset), hw1)]


def add_line(
    out: np.ndarray, centre: np.ndarray, sigma: float, amplitude: np.ndarray | float
) -> None:
    """Add a horizontal-ish Gaussian ridge to ``out`` in place.

    Args:
        out: the (h, w) float32 image.
        centre: (w,) the ridge's row in each column.
        sigma: its half width (Gaussian standard deviation) in rows.
        amplitude: its height, one value or one per column.
    """
    # Only the rows within 5 sigma of the ridge change: far cheaper than the whole frame.
    lo = max(int(centre.min() - 5 * sigma), 0)
    hi = min(int(centre.max() + 5 * sigma) + 1, out.shape[0])
    if lo >= hi:
        return
    rows = np.arange(lo, hi, dtype=np.float32)[:, None]
    ridge = np.exp(-0.5 * ((rows - centre[None, :]) / np.float32(sigma)) ** 2)
    out[lo:hi] += np.asarray(amplitude, dtype=np.float32) * ridge


@dataclass
class Scene:
    """The parts of an LUS frame every profile shares, and the rib layers drawn into it.

    ``background`` holds the soft tissue above the pleura, the reverberation haze below it, the
    pleural line and its A-lines; :func:`paint_rib` adds to ``mask`` and ``rib``.
    """

    rng: np.random.Generator
    y: np.ndarray  # (h, 1) row numbers
    xs: np.ndarray  # (w,) column numbers
    pleura_y: np.ndarray  # (w,) row of the pleural line
    pleura_amp: np.ndarray  # (w,) its brightness
    background: np.ndarray
    mask: np.ndarray
    rib: np.ndarray

    def pleura_at(self, column: float) -> float:
        """The pleural line's row at ``column`` (the edge value beyond the frame)."""
        return float(np.interp(column, self.xs, self.pleura_y))


def lus_scene(rng: np.random.Generator, position: int) -> Scene:
    """Draw the rib-free part of a frame: soft tissue, pleural line, haze and A-lines.

    Args:
        rng: the source of randomness.
        position: probe position (2 or 3); position 3 views the pleura slightly deeper.
    """
    h, w = FRAME_SHAPE
    y = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)
    xc = (w - 1) / 2
    smooth = functools.partial(smooth_noise_1d, rng)

    # Pleural line: slightly tilted and curved, with a small wobble.
    lo, hi = (260.0, 380.0) if position == 2 else (330.0, 460.0)
    depth = rng.uniform(lo, hi)
    pleura_y = (
        depth
        + rng.uniform(-0.3, 0.3) * (xs - xc)
        + rng.uniform(-0.004, 0.004) * (xs - xc) ** 2
        + 2.5 * smooth(w, 8.0)
    ).astype(np.float32)
    pleura_sigma = rng.uniform(2.5, 5.0)
    pleura_amp = rng.uniform(20.0, 60.0) * np.exp(0.3 * smooth(w, 10.0))

    # Soft tissue: layers that follow a common tilt, modulated in log amplitude.
    tilt = rng.uniform(-0.15, 0.15)
    shift = (tilt * (xs - xc)).astype(np.float32)
    grid = np.arange(-40, h + 40, dtype=np.float32)
    layers = smooth(grid.size, 25.0) * rng.uniform(0.2, 0.4)
    layers += smooth(grid.size, 3.0) * rng.uniform(0.15, 0.35)
    layered = np.interp(y - shift[None, :], grid, layers).astype(np.float32)
    layered += 0.15 * smooth(w, 12.0)[None, :]
    tissue = np.float32(rng.uniform(0.7, 1.4)) * np.exp(layered)
    for _ in range(rng.integers(2, 6)):
        centre = rng.uniform(25.0, depth - 50.0) + shift
        amp = rng.uniform(2.0, 10.0) * np.exp(0.5 * smooth(w, 6.0))
        add_line(tissue, centre, rng.uniform(1.5, 4.0), amp)
    # Skin/gel interface and near-field clutter.
    tissue[:100] += np.float32(rng.uniform(2.0, 6.0)) * np.exp(-y[:100] / rng.uniform(6.0, 15.0))

    # Below the pleura: a reverberation haze, then echoes of the pleura (A-lines).
    below = np.clip((y - pleura_y[None, :]) / 6.0 + 0.5, 0.0, 1.0)
    haze = rng.uniform(0.2, 0.6) * np.exp(0.3 * smooth(w, 4.0))
    background = tissue * (1.0 - below) + haze[None, :] * below
    add_line(background, pleura_y, pleura_sigma, pleura_amp)
    ratio = rng.uniform(0.35, 0.8)
    for k in range(2, int(h / pleura_y.min()) + 1):
        sigma = pleura_sigma * (1.0 + 0.3 * (k - 1))
        add_line(background, k * pleura_y, sigma, pleura_amp * ratio ** (k - 1))
    return Scene(
        rng=rng,
        y=y,
        xs=xs,
        pleura_y=pleura_y,
        pleura_amp=pleura_amp.astype(np.float32),
        background=background,
        mask=np.zeros(FRAME_SHAPE, dtype=bool),
        rib=np.zeros(FRAME_SHAPE, dtype=np.float32),
    )


def paint_rib(
    scene: Scene,
    centre: float,
    hw: float,
    apex: float,
    brightness: float | Callable[[np.random.Generator], float],
) -> tuple[slice, np.ndarray]:
    """Draw one rib's cortex band into ``scene.mask`` and its echo into ``scene.rib``.

    Args:
        scene: the frame being drawn.
        centre: the rib's centre column (may lie outside the frame).
        hw: its half width in columns.
        apex: the row of the arc's top.
        brightness: the echo's peak amplitude at the apex, or a function drawing it from
            the generator (called after the shape's draws).

    Returns:
        ``(cols, shadow)``: the columns the rib touches and, there, the fraction of the beam
        it blocks (1 below the arc, with a soft lateral edge of about one beam width).
    """
    rng, y, xs = scene.rng, scene.y, scene.xs
    u = (xs - centre) / hw
    u2 = np.minimum(u**2, 1.0)
    inside = np.abs(u) <= 1.0
    top = apex + rng.uniform(20.0, 90.0) * u**2 + rng.uniform(-12.0, 12.0) * u
    # The band thins towards the ends, where the rib's cross-section rounds off.
    thick = rng.uniform(40.0, 90.0) * np.sqrt(1.0 - 0.75 * u2)
    # Specular reflection fades as the surface turns away from the beam (the arc's ends).
    along = np.exp(0.35 * smooth_noise_1d(rng, xs.size, 5.0)) * (1.0 - 0.6 * u2)
    bright = (brightness(rng) if callable(brightness) else brightness) * along
    s = rng.uniform(3.0, 6.0)
    fall = rng.uniform(0.6, 1.2) * thick
    interior = rng.uniform(0.3, 0.6)
    edge = np.clip((hw - np.abs(xs - centre)) / 1.5 + 0.5, 0.0, 1.0)
    # Only the rib's own columns change (the frame's other columns are most of the work).
    used = np.flatnonzero(edge > 0)
    cols = slice(int(used[0]), int(used[-1]) + 1)
    z = np.maximum(y - top[None, cols], 0.0)
    below_top = y >= top[None, cols]
    band = inside[None, cols] & below_top & (z < thick[None, cols])
    scene.mask[:, cols] |= band
    profile = np.exp(-0.5 * ((z - s) / s) ** 2) + interior * np.exp(-z / fall[None, cols])
    scene.rib[:, cols] += np.where(band, bright[None, cols] * profile, 0.0).astype(np.float32)
    return cols, edge[None, cols] * below_top


def depth_attenuation(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """The (h, 1) amplitude factor of the depth attenuation left after time-gain compensation.

    Args:
        rng: the source of randomness (draws the attenuation).
        y: the (h, 1) row numbers.
    """
    return np.exp(np.float32(-rng.uniform(0.5, 2.5) / FRAME_SHAPE[0]) * y)


def floor_positive(frame: np.ndarray) -> np.ndarray:
    """The frame as float32 with values below 1e-6 of its maximum raised to that level.

    Args:
        frame: a non-negative envelope; changed in place.
    """
    # An exact zero would break the log compression downstream.
    np.maximum(frame, np.float32(frame.max() * 1e-6), out=frame)
    return frame.astype(np.float32, copy=False)
