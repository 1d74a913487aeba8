"""Evaluation cases: a training run's own validation samples, or every frame of a data folder.

Files are read and preprocessed by the training run's own data spec
(:func:`lus_unet.data.spec.spec_from_run_config`) through the functions training uses, so a
case is exactly the sample validation saw.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lus_unet.data.frames import PreprocessedFrame, ReadOptions, iter_preprocessed
from lus_unet.data.io import is_frame_of
from lus_unet.data.preprocess import PreprocessConfig
from lus_unet.data.samples import FLIP_SUFFIX
from lus_unet.data.spec import DataSpec
from lus_unet.errors import ConfigError, DataError
from lus_unet.run_folder import RunFolder

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Case:
    """One evaluation sample: a preprocessed frame, mirrored when the sample is a flip copy.

    Training mirrors a flip copy after preprocessing and resizing (``SegmentationDataset``),
    so the arrays here are mirrored the same way, not the raw frame.

    Attributes:
        id: the sample id (``<frame id>_hflip`` for a flip copy).
        frame: the frame as read and as preprocessed, unflipped.
        flipped: whether the sample is the frame's horizontal flip.
    """

    id: str
    frame: PreprocessedFrame
    flipped: bool = False

    @property
    def source(self) -> Path:
        """The image file."""
        return self.frame.record.source

    @property
    def image(self) -> np.ndarray:
        """The network's (H, W) input frame in [0, 1]."""
        return self._oriented(self.frame.image)

    @property
    def mask(self) -> np.ndarray:
        """The mask at the network's size, uint8 {0, 1} (what training validates against)."""
        return self._oriented(self.frame.mask)

    @property
    def original_mask(self) -> np.ndarray:
        """The mask at the frame's own size, uint8 {0, 1}."""
        return self._oriented(self.frame.record.mask)

    def _oriented(self, array: np.ndarray) -> np.ndarray:
        return array[:, ::-1] if self.flipped else array


def folder_cases(root: Path, read: ReadOptions, preprocess: PreprocessConfig) -> Iterator[Case]:
    """Every frame of a data folder with its mask, in the folder's natural order.

    Args:
        root: a data folder.
        read: how its files are found and read (a run's reader, with the user's changes).
        preprocess: the run's preprocessing.
    """
    for pair in read.discover(root):
        for frame in iter_preprocessed(pair, preprocess, read):
            yield Case(frame.record.id, frame)


def split_cases(run_dir: Path, spec: DataSpec) -> tuple[Path, list[Case]]:
    """A run's validation samples (``split.json``), in split order, and the folder read.

    The embedded synthetic set is regenerated if its cache was removed (it is
    deterministic); a user's data folder must still be where the run read it.

    Args:
        run_dir: the run folder holding ``split.json``.
        spec: the run's data spec (:func:`lus_unet.data.spec.spec_from_run_config`).

    Raises:
        ConfigError: no ``split.json`` in the run folder.
        DataError: the data folder is gone or lacks some validation frames.
    """
    folder = RunFolder(run_dir)
    if not folder.split_file.is_file():
        raise ConfigError(
            f"{folder.split_file} not found: the run's validation split is unknown; "
            "pass data.root=<folder> to evaluate on every frame of a data folder"
        )
    split = folder.read_split()
    now = spec.preprocess.fingerprint()
    if split.get("preprocess", now) != now:
        # An older checkpoint: the same settings now mean another algorithm version or default.
        log.warning(
            "Preprocessing differs from the run's (%s then, %s now): scores may differ from "
            "the run's validation metrics",
            split["preprocess"],
            now,
        )
    root = Path(split["data_root"])
    if not root.is_dir() and spec.root is None:
        log.info("Regenerating the embedded synthetic data set in %s", root)
        spec.generate(root)
    wanted = {sample.removesuffix(FLIP_SUFFIX) for sample in split["val"]}
    frames: dict[str, PreprocessedFrame] = {}
    for pair in spec.read.discover(root):
        # Only the files that hold validation frames are read.
        if any(is_frame_of(frame_id, pair.id) for frame_id in wanted):
            for frame in iter_preprocessed(pair, spec.preprocess, spec.read, only=wanted):
                frames[frame.record.id] = frame
    missing = sorted(wanted - set(frames))
    if missing:
        raise DataError(
            root,
            f"{len(missing)} validation frames of {folder.split_file} are not in this data "
            f"folder (e.g. {missing[0]})",
        )
    cases = [
        Case(sample, frames[sample.removesuffix(FLIP_SUFFIX)], sample.endswith(FLIP_SUFFIX))
        for sample in split["val"]
    ]
    return root, cases
