"""Raw frames without masks, for prediction: a frame file or a folder of them, bad ones skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lus_unet.data.discover import natural_key
from lus_unet.data.frames import ReadOptions, prepare_frame
from lus_unet.data.io import IMAGE_SUFFIXES
from lus_unet.data.preprocess import FrameKind, PreprocessConfig
from lus_unet.errors import DataError, LusUnetError
from lus_unet.evaluation.input_failures import InputFailures


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


def iter_raw_frames(
    files: Iterable[Path], read: ReadOptions, failures: InputFailures
) -> Iterator[RawFrame]:
    """The frames of several files, file after file, read as training read its images.

    A file that cannot be read is recorded in ``failures`` and skipped: one bad file does not
    stop the others.

    Args:
        files: frame files, e.g. from :func:`list_frame_files`.
        read: the training run's reader (MAT variable, cine frame axis, file types).
        failures: where unreadable files are recorded.
    """
    for file in files:
        try:
            frames = read.image_frames(file)  # reads the whole file: any error is raised here
        except LusUnetError as error:
            failures.add(file, error)
            continue
        for frame_id, image in frames:
            yield RawFrame(frame_id, file, image)


class FramesToDo:
    """The frames still to predict, preprocessed; one that cannot be is recorded and skipped.

    Args:
        kept: whether a frame id's outputs are kept from an earlier run (``skip_existing``).
        preprocess: the training run's preprocessing.
        failures: where frames that cannot be preprocessed are recorded.
    """

    def __init__(
        self, kept: Callable[[str], bool], preprocess: PreprocessConfig, failures: InputFailures
    ) -> None:
        self.kept = kept
        self.preprocess = preprocess
        self.failures = failures
        self.n_kept = 0

    def prepared(
        self, frames: Iterable[RawFrame]
    ) -> Iterator[tuple[RawFrame, np.ndarray, FrameKind]]:
        """Each frame not kept, with the network's input and the frame's kind.

        Args:
            frames: the raw frames, e.g. from :func:`iter_raw_frames`.
        """
        for frame in frames:
            if self.kept(frame.id):
                self.n_kept += 1
                continue
            try:
                image, kind = prepare_frame(frame.image, frame.source, frame.id, self.preprocess)
            except LusUnetError as error:
                self.failures.add(frame.source, error)
                continue
            yield frame, image, kind
