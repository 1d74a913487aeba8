"""Training-time augmentation with albumentations, applied identically to frame and mask."""

from __future__ import annotations

import albumentations as A
import cv2

from lus_unet.errors import ConfigError

AUGMENTATIONS = ("none", "keras", "strong")


def build_augmentation(name: str) -> A.Compose | None:
    """The training augmentation pipeline by name (None = no augmentation).

    Args:
        name: ``none``; ``keras``, the authors' Keras ``ImageDataGenerator`` recipe (rotation up
            to 0.15 degrees, independent width/height shifts of 5% and zooms of 0.95-1.05, shear
            0.05 degrees, horizontal flip, nearest-edge fill); or ``strong``, the same geometry
            at 10-100x the strength plus brightness/contrast and gamma jitter, for small data
            sets or scanners whose gain differs between frames.
    """
    if name == "none":
        return None
    if name == "keras":
        geometry = A.Affine(
            rotate=(-0.15, 0.15),
            translate_percent={"x": (-0.05, 0.05), "y": (-0.05, 0.05)},
            scale={"x": (0.95, 1.05), "y": (0.95, 1.05)},
            shear=(-0.05, 0.05),
            keep_ratio=False,
            interpolation=cv2.INTER_LINEAR,
            mask_interpolation=cv2.INTER_NEAREST,
            border_mode=cv2.BORDER_REPLICATE,
            p=1.0,
        )
        return A.Compose([geometry, A.HorizontalFlip(p=0.5)])
    if name == "strong":
        geometry = A.Affine(
            rotate=(-10, 10),
            translate_percent={"x": (-0.1, 0.1), "y": (-0.1, 0.1)},
            scale={"x": (0.85, 1.15), "y": (0.85, 1.15)},
            shear=(-5, 5),
            keep_ratio=False,
            interpolation=cv2.INTER_LINEAR,
            mask_interpolation=cv2.INTER_NEAREST,
            border_mode=cv2.BORDER_REPLICATE,
            p=1.0,
        )
        intensity = [
            A.RandomBrightnessContrast(brightness_limit=0.15, contrast_limit=0.15, p=0.5),
            A.RandomGamma(gamma_limit=(80, 120), p=0.3),
        ]
        return A.Compose([geometry, A.HorizontalFlip(p=0.5), *intensity])
    raise ConfigError(f"data.augment: unknown augmentation '{name}'; valid: {AUGMENTATIONS}")
