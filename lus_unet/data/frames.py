"""Loading a data folder into memory as preprocessed frames."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Container, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lus_unet.data.discover import discover_pairs
from lus_unet.data.io import (
    IMAGE_SUFFIXES,
    FrameRecord,
    iter_frames,
    read_image,
    split_frames,
)
from lus_unet.data.pairs import SourcePair
from lus_unet.data.preprocess import (
    FrameKind,
    PreprocessConfig,
    preprocess_frame,
    resize_mask,
    resolve_kind,
)
from lus_unet.data.quirks import Quirks
from lus_unet.data.size_limit import MAX_PIXELS
from lus_unet.errors import DataError
from lus_unet.progress import progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadOptions:
    """How a data folder's files are found and read (the reader keys of the ``data`` config).

    Args:
        image_dir: image folder name (None = detect the layout: images/ or the authors' IMG/).
        mask_dir: mask folder name (None = detect the layout).
        mat_key: the MAT variable holding the frame (None = the file's only array).
        mask_mat_key: the MAT variable holding the mask (None = the mask file's only array).
        frame_axis: the frame axis of 3-D (cine) MAT arrays.
        mask_threshold: binarise non-binary masks above this value (None = refuse them).
        suffixes: the file types that are data.
        max_pixels: refuse, from its header, a frame or mask of more pixels than this.
    """

    image_dir: str | None = None
    mask_dir: str | None = None
    mat_key: str | None = None
    mask_mat_key: str | None = None
    frame_axis: int = 2
    mask_threshold: float | None = None
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES
    max_pixels: int = MAX_PIXELS

    def overridden(self, keys: Mapping[str, Any]) -> ReadOptions:
        """These options with the reader keys that ``keys`` sets (not None) replaced.

        Lets an entry point read another folder with a run's reader, changing only what the
        user gives (e.g. ``data.image_dir``); ``suffixes`` belong to the data kind and stay.

        Args:
            keys: e.g. an entry point's ``data`` config; keys that are no reader field are
                ignored.
        """
        names = set(self.__dataclass_fields__) - {"suffixes"}
        given = {k: v for k, v in keys.items() if k in names and v is not None}
        return dataclasses.replace(self, **given)

    def fingerprint(self) -> dict[str, Any]:
        """The fields that decide what is read, as a JSON-able dict (for cache keys)."""
        fields = asdict(self)
        fields["suffixes"] = list(self.suffixes)
        # The limit refuses files but never changes a frame read: caches stay valid across it.
        del fields["max_pixels"]
        return fields

    def discover(self, root: Path) -> list[SourcePair]:
        """The image/mask pairs of a data folder read with these options (first problem raises).

        Args:
            root: the data folder.
        """
        return discover_pairs(root, self.image_dir, self.mask_dir, suffixes=self.suffixes)

    def records(self, pair: SourcePair) -> Iterator[FrameRecord]:
        """The checked frames of one image/mask pair, with their ids and raw arrays.

        Args:
            pair: the image and mask files.
        """
        return iter_frames(
            pair,
            self.mat_key,
            self.frame_axis,
            self.mask_threshold,
            self.mask_mat_key,
            suffixes=self.suffixes,
            max_pixels=self.max_pixels,
        )

    def image_frames(self, path: Path) -> Iterator[tuple[str, np.ndarray]]:
        """The frames of an image file without a mask (for prediction), with their ids.

        The ids are those training gives: the file's stem, or ``<stem>_f<k>`` in a cine stack.

        Args:
            path: the image file.
        """
        image = read_image(path, self.mat_key, suffixes=self.suffixes, max_pixels=self.max_pixels)
        return split_frames(path.stem, image, self.frame_axis)


@dataclass
class FrameSet:
    """Preprocessed frames and masks of a data folder, in a deterministic order.

    Attributes:
        ids: one id per frame.
        groups: the split group of every frame (its source file).
        images: (N, H, W) float32 in [0, 1].
        masks: (N, H, W) uint8 in {0, 1}.
        kinds: the frame kind ("linear" or "log") each frame was preprocessed as.
        quirks: what looked doubtful in the files as read (see :mod:`lus_unet.data.quirks`).
    """

    ids: list[str]
    groups: list[str]
    images: np.ndarray
    masks: np.ndarray
    kinds: list[str]
    quirks: Quirks = field(default_factory=Quirks)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, eq=False)
class PreprocessedFrame:
    """A frame as read (``record``) and as the network sees it (``image``, ``mask``)."""

    record: FrameRecord
    kind: str
    image: np.ndarray  # (H, W) float32 in [0, 1]
    mask: np.ndarray  # (H, W) uint8 {0, 1}


def prepare_frame(
    image: np.ndarray, source: Path, frame_id: str, preprocess: PreprocessConfig
) -> tuple[np.ndarray, FrameKind]:
    """One frame as read from its file -> the network's (H, W) input in [0, 1], and its kind.

    The one per-frame preprocessing: training, evaluation and prediction all come here.

    Args:
        image: the 2-D frame as read (native dtype).
        source: its file (the suffix decides ``kind: auto``).
        frame_id: the frame's id, for error messages.
        preprocess: despeckling, compression and resizing settings.

    Raises:
        DataError: naming the file, for a frame the preprocessing cannot handle (non-finite,
            all zero, ...).
    """
    kind = resolve_kind(preprocess.kind, source, image.dtype)
    try:
        return preprocess_frame(image, kind, preprocess), kind
    except ValueError as error:
        raise DataError(source, f"frame {frame_id}: {error}") from error


def iter_preprocessed(
    pair: SourcePair,
    preprocess: PreprocessConfig,
    options: ReadOptions,
    only: Container[str] | None = None,
) -> Iterator[PreprocessedFrame]:
    """Read, validate and preprocess the frames of one image/mask pair.

    Args:
        pair: the image and mask files.
        preprocess: despeckling, compression and resizing settings.
        options: the reader settings.
        only: preprocess only the frames with these ids (None = every frame).

    Raises:
        DataError: naming the file, for anything unreadable or unusable in it.
    """
    for record in options.records(pair):
        if only is not None and record.id not in only:
            continue
        image, kind = prepare_frame(record.image, record.source, record.id, preprocess)
        yield PreprocessedFrame(
            record, kind, image, resize_mask(record.mask, preprocess.image_size)
        )


def preprocess_pairs(
    pairs: list[SourcePair], preprocess: PreprocessConfig, options: ReadOptions, label: str = ""
) -> FrameSet:
    """Preprocess every frame of the given pairs into one in-memory :class:`FrameSet`.

    Args:
        pairs: the image/mask pairs, in the order wanted.
        preprocess: despeckling, compression and resizing settings.
        options: the reader settings.
        label: shown in the progress bar.
    """
    ids, groups, images, masks, kinds = [], [], [], [], []
    quirks = Quirks()
    for pair in progress(pairs, f"Preprocessing {label}", "file", leave=False):
        for frame in iter_preprocessed(pair, preprocess, options):
            quirks.note(frame.record, frame.kind, pair.mask, preprocess.kind)
            ids.append(frame.record.id)
            groups.append(frame.record.group)
            images.append(frame.image)
            masks.append(frame.mask)
            kinds.append(frame.kind)
    return FrameSet(ids, groups, np.stack(images), np.stack(masks), kinds, quirks)


def load_frame_set(
    root: Path, preprocess: PreprocessConfig, options: ReadOptions | None = None
) -> FrameSet:
    """Read, validate and preprocess every frame of a data folder (no cache).

    Args:
        root: the data folder (see the data contract in the README).
        preprocess: despeckling, compression and resizing settings.
        options: the reader settings (None = the defaults).
    """
    options = options or ReadOptions()
    pairs = options.discover(root)
    frames = preprocess_pairs(pairs, preprocess, options, root.name)
    log.info("Loaded %d frames from %d files in %s", len(frames), len(pairs), root)
    return frames
