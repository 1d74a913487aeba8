"""Loading a data folder into memory as preprocessed frames."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from lus_unet.data.discover import discover_pairs
from lus_unet.data.io import iter_frames
from lus_unet.data.preprocess import PreprocessConfig, preprocess_frame, resize_mask, resolve_kind
from lus_unet.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class FrameSet:
    """Preprocessed frames and masks of a data folder, in a deterministic order.

    Attributes:
        ids: one id per frame.
        groups: the split group of every frame (its source file).
        images: (N, H, W) float32 in [0, 1].
        masks: (N, H, W) uint8 in {0, 1}.
        kinds: the frame kind ("linear" or "log") each frame was preprocessed as.
    """

    ids: list[str]
    groups: list[str]
    images: np.ndarray
    masks: np.ndarray
    kinds: list[str]

    def __len__(self) -> int:
        return len(self.ids)


def load_frame_set(
    root: Path,
    preprocess: PreprocessConfig,
    *,
    mat_key: str | None = None,
    mask_mat_key: str | None = None,
    frame_axis: int = 2,
    mask_threshold: float | None = None,
    image_dir: str | None = None,
    mask_dir: str | None = None,
) -> FrameSet:
    """Read, validate and preprocess every frame of a data folder.

    Args:
        root: the data folder (see the data contract in the README).
        preprocess: despeckling, compression and resizing settings.
        mat_key: the MAT variable holding the frame (None = the file's only array).
        mask_mat_key: the MAT variable holding the mask (None = the mask file's only array).
        frame_axis: the frame axis of 3-D (cine) MAT arrays.
        mask_threshold: binarise non-binary masks above this value (None = refuse them).
        image_dir: image folder name (None = detect the layout).
        mask_dir: mask folder name (None = detect the layout).
    """
    pairs = discover_pairs(root, image_dir=image_dir, mask_dir=mask_dir)
    ids, groups, images, masks, kinds = [], [], [], [], []
    for pair in tqdm(pairs, desc=f"Preprocessing {root.name}", unit="file", leave=False):
        for record in iter_frames(pair, mat_key, frame_axis, mask_threshold, mask_mat_key):
            kind = resolve_kind(preprocess.kind, record.source, record.image.dtype)
            try:
                image = preprocess_frame(record.image, kind, preprocess)
            except ValueError as error:
                raise DataError(record.source, f"frame {record.id}: {error}") from error
            ids.append(record.id)
            groups.append(record.group)
            images.append(image)
            masks.append(resize_mask(record.mask, preprocess.image_size))
            kinds.append(kind)
    log.info("Loaded %d frames from %d files in %s", len(ids), len(pairs), root)
    return FrameSet(ids, groups, np.stack(images), np.stack(masks), kinds)
