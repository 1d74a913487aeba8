"""Raw frames without masks, for prediction: a frame file or a folder of them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lus_unet.data.discover import natural_key
from lus_unet.data.frames import ReadOptions
from lus_unet.data.io import IMAGE_SUFFIXES
from lus_unet.errors import DataError


@dataclass(frozen=True, eq=False)
class RawFrame:
    """One 2-D frame read from a file, in its native dtype.

    Attributes:
        id: the file's stem, or ``<stem>_f<k>`` for frame k of a cine stack.
        source: the file.
        image: (H, W) array at the file's own size.
    """

    id: str
    source: Path
    image: np.ndarray


def list_frame_files(path: Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> list[Path]:
    """The frame files named by ``path``: the file itself, or a folder's frame files.

    A folder is read one level deep, in natural order; hidden files are ignored, and any
    other file type or a sub-folder is an error (nothing is skipped silently).

    Args:
        path: a frame file, or a folder of them.
        suffixes: the file types that are frames (a run's ``ReadOptions.suffixes``).

    Raises:
        DataError: a missing path, an unsupported file, a sub-folder, an empty folder or two
            files with the same stem (their outputs would collide).
    """
    supported = ", ".join(suffixes)
    if not path.exists():
        raise DataError(path, "does not exist")
    if path.is_file():
        if path.suffix.lower() not in suffixes:
            raise DataError(path, f"unsupported file type (supported: {supported})")
        return [path]
    files = []
    for child in sorted(path.iterdir(), key=lambda p: natural_key(p.name)):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            raise DataError(
                child, "unexpected sub-folder: give the folder that holds the frames themselves"
            )
        if child.suffix.lower() not in suffixes:
            raise DataError(child, f"unexpected file type (supported: {supported})")
        files.append(child)
    if not files:
        raise DataError(path, f"no frames found (supported: {supported})")
    stems: dict[str, Path] = {}
    for file in files:
        if file.stem in stems:
            raise DataError(file, f"same name as {stems[file.stem].name}; keep one of them")
        stems[file.stem] = file
    return files


def iter_raw_frames(files: Iterable[Path], read: ReadOptions) -> Iterator[RawFrame]:
    """The frames of several files, file after file, read as training read its images.

    Args:
        files: frame files, e.g. from :func:`list_frame_files`.
        read: the training run's reader (MAT variable, cine frame axis, file types).
    """
    for file in files:
        for frame_id, image in read.image_frames(file):
            yield RawFrame(frame_id, file, image)
