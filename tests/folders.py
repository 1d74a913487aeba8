"""Small data folders written in the tests, in the real file formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
import tifffile
from PIL import Image


def write_array(path: Path, array: np.ndarray, mat_name: str = "frame") -> Path:
    """Write an array as .png/.jpg (8-bit), .tif or .mat (v5, one variable), by suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix in (".png", ".jpg", ".jpeg"):
        Image.fromarray(array).save(path)
    elif suffix in (".tif", ".tiff"):
        tifffile.imwrite(path, array)
    else:
        scipy.io.savemat(path, {mat_name: array})
    return path


def blob_pair(size: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A uint8 image with a bright ellipse on a textured background, and the ellipse's mask."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0.35, 0.65) * h, rng.uniform(0.35, 0.65) * w
    ry, rx = rng.uniform(0.15, 0.3) * h, rng.uniform(0.15, 0.3) * w
    mask = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1).astype(np.uint8)
    image = rng.integers(20, 90, size=size) + 140 * mask
    return image.astype(np.uint8), mask


def make_folder(
    root: Path,
    n: int = 4,
    size: tuple[int, int] = (24, 16),
    image_suffix: str = ".png",
    image_dir: str = "images",
    mask_dir: str = "masks",
) -> list[str]:
    """Write ``n`` good image/mask pairs (8-bit images, 0/255 PNG masks); returns their ids."""
    ids = [f"f{k}" for k in range(n)]
    for k, frame_id in enumerate(ids):
        image, mask = blob_pair(size, k)
        write_array(root / image_dir / f"{frame_id}{image_suffix}", image)
        write_array(root / mask_dir / f"{frame_id}.png", mask * np.uint8(255))
    return ids
