"""The realistic profile of the synthetic LUS frames: harder, closer to a scanner's output.

It draws the same scene as the standard profile (:mod:`lus_unet.data.synthetic`: soft tissue,
pleural line, A-lines, rib arcs with the same cortex-band mask) and then makes it harder:

- ribs may be cut by the frame's side by up to 70%, sit shallower or deeper, be only 4-9 dB
  brighter than the tissue around them (those keep a dark shadow), or let 10-50% of the beam's
  amplitude through (weaker shadows, only under bright arcs of ribs mostly in view);
- 0-3 B-lines: vertical comet tails a few columns wide from the pleura to the bottom, never
  inside a rib's shadow;
- near-field clutter: reverberation bands and haze of random strength in the top 100-150 rows
  (in front of everything: no rib shadows it);
- a smooth random depth-gain (TGC) error of a few dB and a per-frame overall gain of +-6 dB;
- physical speckle: complex Gaussian scatterers whose amplitude follows the echogenicity map,
  convolved (FFT) with an axial-lateral point-spread function (a Gaussian-enveloped pulse of a
  few cycles over 6-12 rows, in its analytic form, so that the modulus is the envelope a
  detector computes; a Gaussian beam 1-1.5 columns wide); the scatterers' amplitude is the
  square root of the clean intensity plus that of an electronic noise floor.

A global intensity threshold scores below 0.5 mean Dice on it (see
:mod:`lus_unet.threshold_baseline`); the rib stays identifiable by its arc and shadow.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from lus_unet.data.synthetic_scene import (
    FRAME_SHAPE,
    Scene,
    add_line,
    depth_attenuation,
    floor_positive,
    lus_scene,
    paint_rib,
    rib_layout,
    smooth_noise_1d,
)

# The per-frame overall gain is uniform in [-GAIN_DB, +GAIN_DB] around REFERENCE_GAIN_DB.
GAIN_DB = 6.0
REFERENCE_GAIN_DB = 50.0
# The largest fraction of a rib that may lie outside the frame.
RIB_OUTSIDE = 0.7
# A low-contrast rib's arc is this many dB above the tissue around it; the others more.
LOW_CONTRAST_DB = (4.0, 9.0)
NORMAL_CONTRAST_DB = (12.0, 30.0)
# A shadow below which this share of the beam's amplitude still gets through (faint or cut
# ribs always cast a dark shadow).
DARK_SHADOW = (0.005, 0.04)
PARTIAL_SHADOW = (0.1, 0.5)
PARTIAL_MIN_CONTRAST_DB = 15.0


def _db(value: float) -> float:
    """Amplitude factor of ``value`` dB."""
    return float(10.0 ** (value / 20.0))


def _draw_ribs(scene: Scene, clutter: np.ndarray) -> np.ndarray:
    """Draw the ribs into ``scene`` and return the (h, w) amplitude transmission map.

    Args:
        scene: the frame being drawn.
        clutter: the near-field clutter, part of what a rib's contrast refers to.
    """
    rng, w = scene.rng, FRAME_SHAPE[1]
    opacity = np.zeros(FRAME_SHAPE, dtype=np.float32)
    for centre, hw in rib_layout(rng, w, RIB_OUTSIDE, RIB_OUTSIDE):
        # Mostly as high as in the standard profile, sometimes shallower or close to the pleura
        # (where the arc's ends may dip below the pleural line: such ribs are never faint).
        deep = rng.random() < 0.15
        above = rng.uniform(15.0, 40.0) if deep else rng.uniform(40.0, 230.0)
        apex = max(scene.pleura_at(centre) - above, 45.0)
        # The echo level just above the arc's top (RMS), which the arc's contrast refers to.
        c0, c1 = int(np.clip(centre - hw, 0, w - 1)), int(np.clip(centre + hw, 0, w - 1)) + 1
        rows = slice(max(int(apex) - 40, 0), int(apex))
        around = scene.background[rows, c0:c1] + clutter[rows, c0:c1]
        level = float(np.sqrt(np.mean(around**2)))
        low = not deep and rng.random() < 0.5
        contrast = rng.uniform(*(LOW_CONTRAST_DB if low else NORMAL_CONTRAST_DB))
        cols, shadow = paint_rib(scene, centre, hw, apex, level * _db(contrast))
        # Only a bright arc goes with a weak shadow; a much cut rib shows only its end, where
        # the arc fades, so it keeps a dark shadow too.
        in_view = (min(centre + hw, w) - max(centre - hw, 0.0)) / (2.0 * hw)
        partial = contrast >= PARTIAL_MIN_CONTRAST_DB and in_view > 0.8 and rng.random() < 0.6
        passed = rng.uniform(*(PARTIAL_SHADOW if partial else DARK_SHADOW))
        opacity[:, cols] = np.maximum(opacity[:, cols], np.float32(1.0 - passed) * shadow)
    return 1.0 - opacity


def b_lines(
    rng: np.random.Generator,
    pleura_y: np.ndarray,
    pleura_amp: np.ndarray,
    transmission: np.ndarray,
) -> np.ndarray:
    """0-3 B-lines: vertical comet tails from the pleura to the bottom, outside rib shadows.

    Args:
        rng: the source of randomness.
        pleura_y: (w,) row of the pleural line per column.
        pleura_amp: (w,) the pleural line's brightness, which a B-line's start matches roughly.
        transmission: (h, w) amplitude transmission of the ribs (1 = no shadow).

    Returns:
        The (h, w) float32 echo amplitude of the B-lines (zero where the beam is shadowed by
        more than half, above the pleura, and everywhere when the frame has none).
    """
    h, w = transmission.shape
    out = np.zeros((h, w), dtype=np.float32)
    count = int(rng.choice(4, p=[0.35, 0.3, 0.2, 0.15]))
    y = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)
    lit = transmission[np.clip(pleura_y.astype(int), 0, h - 1), np.arange(w)] > 0.95
    for _ in range(count):
        width = rng.uniform(0.8, 2.2)
        # A centre whose whole width (2.5 sigma either side) lies in lit columns.
        margin = int(np.ceil(2.5 * width))
        free = np.flatnonzero(np.convolve(~lit, np.ones(2 * margin + 1), mode="same") == 0)
        if free.size == 0:
            break
        column = float(rng.choice(free)) + rng.uniform(-0.5, 0.5)
        start = float(np.interp(column, xs, pleura_y))
        strength = rng.uniform(0.15, 0.5) * float(np.interp(column, xs, pleura_amp))
        decay = rng.uniform(300.0, 1500.0)
        z = y - start
        depth = np.where(z >= 0, np.exp(-np.maximum(z, 0) / decay), np.exp(-0.5 * (z / 3.0) ** 2))
        wobble = np.exp(0.25 * np.cumsum(rng.standard_normal(h)) / np.sqrt(h))[:, None]
        lateral = np.exp(-0.5 * ((xs[None, :] - column) / width) ** 2)
        out += (strength * depth * wobble * lateral).astype(np.float32)
    # A B-line starts at the pleura; behind a rib there is none to start from.
    out *= transmission > 0.5
    return out


def near_field_clutter(rng: np.random.Generator, level: float) -> np.ndarray:
    """Reverberation bands and haze of random strength in the top 100-150 rows.

    Args:
        rng: the source of randomness.
        level: the tissue's typical amplitude, which the clutter's strength refers to.

    Returns:
        The (h, w) float32 clutter amplitude (zero below the clutter's reach).
    """
    h, w = FRAME_SHAPE
    out = np.zeros(FRAME_SHAPE, dtype=np.float32)
    reach = rng.uniform(100.0, 150.0)
    strength = level * _db(rng.uniform(-6.0, 12.0))
    rows = int(reach) + 1
    y = np.arange(rows, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)
    out[:rows] += strength * np.exp(-y / rng.uniform(20.0, 60.0))
    period = rng.uniform(12.0, 35.0)
    ratio = rng.uniform(0.5, 0.85)
    tilt = rng.uniform(-0.03, 0.03) * (xs - (w - 1) / 2)
    for k in range(1, int(reach / period) + 1):
        amp = 1.5 * strength * ratio ** (k - 1) * rng.uniform(0.5, 1.0)
        add_line(out, k * period + tilt, rng.uniform(1.5, 4.0), amp)
    # Fade out towards the clutter's reach and vary across the width.
    fade = np.clip(1.0 - np.arange(h, dtype=np.float32) / reach, 0.0, 1.0) ** 1.5
    lateral = np.exp(0.3 * smooth_noise_1d(rng, w, 15.0))
    return out * fade[:, None] * lateral[None, :]


def point_spread_function(rng: np.random.Generator) -> np.ndarray:
    """A random axial-lateral point-spread function, complex (analytic pulse), unit energy.

    Axially a pulse of 2-3 cycles (period 3-4.5 rows) under a Gaussian envelope whose
    full width at half maximum is the pulse length (6-12 rows); laterally a Gaussian beam
    (sigma 1-1.5 columns).

    Args:
        rng: the source of randomness.
    """
    period = rng.uniform(3.0, 4.5)
    length = float(np.clip(rng.uniform(2.0, 3.0) * period, 6.0, 12.0))
    sigma_z = length / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    sigma_x = rng.uniform(1.0, 1.5)
    z = np.arange(-int(np.ceil(3 * sigma_z)), int(np.ceil(3 * sigma_z)) + 1)[:, None]
    x = np.arange(-int(np.ceil(3 * sigma_x)), int(np.ceil(3 * sigma_x)) + 1)[None, :]
    pulse = np.exp(-0.5 * (z / sigma_z) ** 2 + 2j * np.pi * z / period)
    psf = pulse * np.exp(-0.5 * (x / sigma_x) ** 2)
    return (psf / np.sqrt(np.sum(np.abs(psf) ** 2))).astype(np.complex64)


def speckle_envelope(
    rng: np.random.Generator, amplitude: np.ndarray, psf: np.ndarray
) -> np.ndarray:
    """The envelope of circular complex Gaussian scatterers of ``amplitude`` imaged by ``psf``.

    Args:
        rng: the source of randomness.
        amplitude: (h, w) scatterer amplitude (the square root of the mean intensity).
        psf: the complex point-spread function (unit energy keeps the mean intensity).

    Returns:
        The (h, w) float32 envelope; its mean square follows ``amplitude**2`` smoothed by the
        PSF's intensity.
    """
    pz, px = psf.shape[0] // 2, psf.shape[1] // 2
    # Scatterers beyond the frame (the edge's amplitude) keep the borders as bright as the rest.
    padded = np.pad(amplitude, ((pz, pz), (px, px)), mode="edge").astype(np.float32)
    scatterers = rng.standard_normal((2, *padded.shape), dtype=np.float32)
    field = (scatterers[0] + 1j * scatterers[1]).astype(np.complex64)
    field *= padded * np.float32(np.sqrt(0.5))
    return np.abs(signal.fftconvolve(field, psf, mode="valid")).astype(np.float32)


def synth_lus_frame_realistic(
    rng: np.random.Generator, position: int = 2, *, gain_db: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic raw LUS frame of the realistic profile and its rib mask.

    Args:
        rng: the source of randomness (the frame is a deterministic function of its state).
        position: probe position (2 or 3); position 3 views the pleura slightly deeper.
        gain_db: the overall gain relative to the reference, in dB (None = drawn uniformly in
            [-6, 6] dB; the draw is made either way, so the rest of the frame is the same).

    Returns:
        ``(frame, mask)``: the positive 960x128 float32 envelope and the uint8 {0, 1} cortex
        mask.
    """
    scene = lus_scene(rng, position)
    level = float(np.median(scene.background[: int(scene.pleura_y.min())]))
    clutter = near_field_clutter(rng, level)
    transmission = _draw_ribs(scene, clutter)
    bl = b_lines(rng, scene.pleura_y, scene.pleura_amp, transmission)
    clean = (scene.background + bl) * transmission + scene.rib + clutter

    # Attenuation left after time-gain compensation, plus a smooth error of the TGC curve.
    tgc_db = rng.uniform(1.5, 4.0) * smooth_noise_1d(rng, FRAME_SHAPE[0], rng.uniform(60.0, 150.0))
    clean *= depth_attenuation(rng, scene.y) * (10.0 ** (tgc_db / 20.0))[:, None]
    noise_floor = level * _db(rng.uniform(-32.0, -16.0))
    # Scatterer amplitude: the square root of the echo's and the noise floor's intensities.
    envelope = speckle_envelope(rng, np.hypot(clean, noise_floor), point_spread_function(rng))
    drawn = rng.uniform(-GAIN_DB, GAIN_DB)
    gain = _db(REFERENCE_GAIN_DB + (drawn if gain_db is None else gain_db))
    return floor_positive(envelope * np.float32(gain)), scene.mask.astype(np.uint8)
