"""Training-time augmentation with albumentations, applied identically to frame and mask."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import cv2

if TYPE_CHECKING:
    import albumentations as A

AUGMENTATIONS = ("none", "keras", "strong", "hflip")


def build_augmentation(name: str) -> A.Compose | None:
    """The training augmentation pipeline by name (None = no augmentation).

    Args:
        name: ``none``; ``keras``, the authors' Keras ``ImageDataGenerator`` recipe (rotation up
            to 0.15 degrees, independent width/height shifts of 5% and zooms of 0.95-1.05, shear
            0.05 degrees, horizontal flip, nearest-edge fill); or ``strong``, the same geometry
            at 10-100x the strength plus brightness/contrast and gamma jitter, for small data
            sets or scanners whose gain differs between frames; or ``hflip``, a random
            horizontal flip only (p = 0.5), the reference U-Net's recipe. The config schema
            (:mod:`lus_unet.config.data`) refuses other names with the key's name.
    """
    if name == "none":
        return None
    # Imported here: albumentations takes seconds to import.
    import albumentations as A

    if name == "hflip":
        return A.Compose([A.HorizontalFlip(p=0.5)])
    if name == "keras":
        return A.Compose([_affine(A, 0.15, 0.05, 0.05, 0.05), A.HorizontalFlip(p=0.5)])
    if name != "strong":
        raise ValueError(f"unknown augmentation {name!r}; valid: {', '.join(AUGMENTATIONS)}")
    intensity = [
        A.RandomBrightnessContrast(brightness_limit=0.15, contrast_limit=0.15, p=0.5),
        A.RandomGamma(gamma_limit=(80, 120), p=0.3),
    ]
    return A.Compose([_affine(A, 10.0, 0.1, 0.15, 5.0), A.HorizontalFlip(p=0.5), *intensity])


def _affine(A: Any, rotate: float, shift: float, zoom: float, shear: float) -> Any:
    """Keras-style random affine: independent x/y shifts and zooms, nearest-edge fill.

    Args:
        A: the albumentations module.
        rotate: maximum rotation in degrees.
        shift: maximum shift as a fraction of the image size.
        zoom: maximum relative zoom (scales in 1 +- zoom).
        shear: maximum shear in degrees.
    """
    return A.Affine(
        rotate=(-rotate, rotate),
        translate_percent={"x": (-shift, shift), "y": (-shift, shift)},
        scale={"x": (1 - zoom, 1 + zoom), "y": (1 - zoom, 1 + zoom)},
        shear=(-shear, shear),
        keep_ratio=False,
        interpolation=cv2.INTER_LINEAR,
        mask_interpolation=cv2.INTER_NEAREST,
        border_mode=cv2.BORDER_REPLICATE,
        p=1.0,
    )
