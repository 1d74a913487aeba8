"""Raw frames without masks, for prediction: a frame file or a folder of them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lus_unet.data.discover import natural_key
from lus_unet.data.io import IMAGE_SUFFIXES, read_array, to_grayscale
from lus_unet.errors import ConfigError, DataError

_FRAME_AXES = (-3, -2, -1, 0, 1, 2)


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


def list_frame_files(path: Path) -> list[Path]:
    """The frame files named by ``path``: the file itself, or a folder's frame files.

    A folder is read one level deep, in natural order; hidden files are ignored, and any
    other file type or a sub-folder is an error (nothing is skipped silently).

    Args:
        path: a .mat/.tif/.tiff/.png file, or a folder of them.

    Raises:
        DataError: a missing path, an unsupported file, a sub-folder, an empty folder or two
            files with the same stem (their outputs would collide).
    """
    supported = ", ".join(IMAGE_SUFFIXES)
    if not path.exists():
        raise DataError(path, "does not exist")
    if path.is_file():
        if path.suffix.lower() not in IMAGE_SUFFIXES:
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
        if child.suffix.lower() not in IMAGE_SUFFIXES:
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


def read_raw_frames(path: Path, mat_key: str | None = None, frame_axis: int = 2) -> list[RawFrame]:
    """The frames of one file: one for a 2-D image, one per frame for a MAT cine stack.

    Colour PNG/TIFF images are converted to grayscale. Cine frames get the ids training
    gives them (``lus_unet.data.io.iter_frames``): ``<stem>_f<k>``, k zero-padded.

    Args:
        path: the frame file.
        mat_key: the MAT variable holding the frame (None = the file's only array).
        frame_axis: the frame axis of a 3-D MAT array.
    """
    if frame_axis not in _FRAME_AXES:
        raise ConfigError(f"frame_axis must be 0, 1 or 2, got {frame_axis!r}")
    array = read_array(path, mat_key)
    if array.ndim == 3 and path.suffix.lower() != ".mat":
        array = to_grayscale(array)
    if array.ndim == 2:
        return [RawFrame(path.stem, path, array)]
    stack = np.moveaxis(array, frame_axis, -1)
    digits = len(str(stack.shape[-1] - 1))
    return [
        RawFrame(f"{path.stem}_f{k:0{digits}d}", path, np.ascontiguousarray(stack[..., k]))
        for k in range(stack.shape[-1])
    ]


def iter_raw_frames(
    files: Iterable[Path], mat_key: str | None = None, frame_axis: int = 2
) -> Iterator[RawFrame]:
    """The frames of several files, file after file (see :func:`read_raw_frames`).

    Args:
        files: frame files, e.g. from :func:`list_frame_files`.
        mat_key: the MAT variable holding the frame.
        frame_axis: the frame axis of 3-D MAT arrays.
    """
    for file in files:
        yield from read_raw_frames(file, mat_key, frame_axis)
