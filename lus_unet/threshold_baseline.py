"""The best global intensity threshold as a rib-segmentation baseline.

A learned model must beat this clearly for the synthetic task to mean anything: the rib is
bright, but so are the pleural line and its A-line reverberations (and, in the realistic
profile, B-lines and near-field clutter, while some ribs are faint).

Usage::

    python -m lus_unet.threshold_baseline --n-frames 200 --seed 0 --size 128
    python -m lus_unet.threshold_baseline --n-frames 100 --profile realistic
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import numpy as np

from lus_unet.data.preprocess import PreprocessConfig, preprocess_frame, resize_mask
from lus_unet.data.synthetic import LUS_PROFILES, iter_lus_frames

log = logging.getLogger(__name__)

_EPS = 1e-6


def best_global_threshold_dice(
    images: list[np.ndarray], masks: list[np.ndarray], n_thresholds: int = 101
) -> tuple[float, float]:
    """The threshold t on ``image > t`` that maximises the mean Dice, and that mean Dice.

    Dice per image is ``(2|P∩G| + eps) / (|P| + |G| + eps)`` with eps = 1e-6, averaged over
    images; the candidates are ``n_thresholds`` evenly spaced values in [0, 1].

    Args:
        images: images in [0, 1] (log-compressed), bright = rib.
        masks: binary masks of the same shapes.
        n_thresholds: number of candidate thresholds.
    """
    if len(images) != len(masks) or not images:
        raise ValueError(
            f"need as many images as masks, at least one ({len(images)}, {len(masks)})"
        )
    thresholds = np.linspace(0.0, 1.0, n_thresholds)
    dice = np.zeros(n_thresholds)
    for image, mask in zip(images, masks, strict=True):
        if image.shape != mask.shape:
            raise ValueError(f"image {image.shape} and mask {mask.shape} differ in shape")
        values = np.asarray(image, dtype=np.float64).ravel()
        truth = np.asarray(mask).ravel() > 0
        # Counting pixels above each threshold via sorted values avoids n_thresholds passes.
        order = np.sort(values)
        fg = np.sort(values[truth])
        predicted = values.size - np.searchsorted(order, thresholds, side="right")
        hits = fg.size - np.searchsorted(fg, thresholds, side="right")
        dice += (2.0 * hits + _EPS) / (predicted + truth.sum() + _EPS)
    dice /= len(images)
    best = int(np.argmax(dice))
    return float(thresholds[best]), float(dice[best])


def synthetic_baseline(
    n_frames: int,
    seed: int = 0,
    size: int = 128,
    dynamic_range_db: float = 60.0,
    despeckle: bool = False,
    profile: str = "standard",
) -> tuple[float, float]:
    """Best global threshold and its mean Dice on synthetic frames, preprocessed in memory.

    Frames go through the project's own preprocessing (log compression, resize by area
    averaging/bilinear, masks by nearest neighbour), so the baseline sees what a model sees.

    Args:
        n_frames: number of synthetic frames.
        seed: dataset seed.
        size: side the frames are resized to.
        dynamic_range_db: log-compression range below each frame's maximum.
        despeckle: apply the homomorphic wavelet despeckling first.
        profile: the synthetic profile, ``standard`` or ``realistic``.
    """
    cfg = PreprocessConfig(
        image_size=(size, size), dynamic_range_db=dynamic_range_db, despeckle=despeckle
    )
    images, masks = [], []
    for _, frame, mask in iter_lus_frames(n_frames, seed, profile):
        images.append(preprocess_frame(frame, "linear", cfg))
        masks.append(resize_mask(mask, cfg.image_size))
    return best_global_threshold_dice(images, masks)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: log the best global threshold's mean Dice on synthetic LUS frames."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-frames", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--dynamic-range-db", type=float, default=60.0)
    parser.add_argument(
        "--despeckle", action="store_true", help="apply the wavelet despeckling first"
    )
    parser.add_argument("--profile", choices=LUS_PROFILES, default="standard")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    threshold, dice = synthetic_baseline(
        args.n_frames, args.seed, args.size, args.dynamic_range_db, args.despeckle, args.profile
    )
    log.info(
        "Best global threshold on %d synthetic %s frames (seed %d, %dx%d, %g dB, despeckle %s): "
        "t = %.2f, mean Dice = %.4f",
        args.n_frames,
        args.profile,
        args.seed,
        args.size,
        args.size,
        args.dynamic_range_db,
        args.despeckle,
        threshold,
        dice,
    )


if __name__ == "__main__":
    main()
