"""Evaluation cases: a training run's own validation samples, or every frame of a data folder."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lus_unet.data.discover import SourcePair, discover_pairs
from lus_unet.data.io import FrameRecord, iter_frames
from lus_unet.data.samples import FLIP_SUFFIX
from lus_unet.data.synthetic import generate_lus_dataset
from lus_unet.errors import ConfigError, DataError
from lus_unet.evaluation.checkpoints import preprocess_config

log = logging.getLogger(__name__)

SPLIT_FILE = "split.json"


@dataclass(frozen=True, eq=False)
class Case:
    """A frame and its mask at their original size; ``flipped`` samples are mirrored later.

    Training mirrors a flip copy after preprocessing and resizing (``SegmentationDataset``),
    so evaluation does the same rather than mirroring the raw frame.

    Attributes:
        id: the sample id (``<frame id>_hflip`` for a flip copy).
        source: the image file.
        image: 2-D frame, native dtype, unflipped.
        mask: 2-D uint8 {0, 1} mask, unflipped.
        flipped: whether the sample is the frame's horizontal flip.
    """

    id: str
    source: Path
    image: np.ndarray
    mask: np.ndarray
    flipped: bool = False


@dataclass(frozen=True)
class ReadSettings:
    """How a data folder's files are read (the ``data.*`` keys of the same names).

    Attributes:
        mat_key: MAT variable of the frame (None = the file's only array).
        mask_mat_key: MAT variable of the mask.
        frame_axis: frame axis of 3-D (cine) MAT arrays.
        mask_threshold: binarise non-binary masks above this value (None = refuse them).
    """

    mat_key: str | None = None
    mask_mat_key: str | None = None
    frame_axis: int = 2
    mask_threshold: float | None = None

    @classmethod
    def from_data_config(cls, data: dict[str, Any]) -> ReadSettings:
        """The settings of a ``data`` config section; absent keys take the defaults."""
        defaults = cls()
        return cls(**{k: data.get(k, getattr(defaults, k)) for k in cls.__dataclass_fields__})

    def frames(self, pair: SourcePair) -> Iterator[FrameRecord]:
        """The checked frame records of one image/mask pair."""
        return iter_frames(
            pair, self.mat_key, self.frame_axis, self.mask_threshold, self.mask_mat_key
        )


def folder_cases(root: Path, settings: ReadSettings) -> Iterator[Case]:
    """Every frame of a data folder with its mask, in the folder's natural order.

    Args:
        root: a data folder (``images/`` + ``masks/``, or the authors' ``IMG/`` + ``MASK/``).
        settings: how its files are read.
    """
    for pair in discover_pairs(root):
        for record in settings.frames(pair):
            yield Case(record.id, record.source, record.image, record.mask)


def split_cases(run_dir: Path, run_config: dict[str, Any]) -> tuple[Path, list[Case]]:
    """A run's validation samples (``split.json``), in split order, and the folder read.

    The embedded synthetic set is regenerated if its cache was removed (it is
    deterministic); a user's data folder must still be where the run read it.

    Args:
        run_dir: the run folder holding ``split.json``.
        run_config: the run's resolved configuration (its ``data`` section says how files
            are read).

    Raises:
        ConfigError: no ``split.json`` in the run folder.
        DataError: the data folder is gone or lacks some validation frames.
    """
    split_file = run_dir / SPLIT_FILE
    if not split_file.is_file():
        raise ConfigError(
            f"{split_file} not found: the run's validation split is unknown; "
            "pass data.root=<folder> to evaluate on every frame of a data folder"
        )
    split = json.loads(split_file.read_text())
    data = run_config["data"]
    now = preprocess_config(run_config).fingerprint()
    if split.get("preprocess", now) != now:
        # An older checkpoint: the same settings now mean another algorithm version or default.
        log.warning(
            "Preprocessing differs from the run's (%s then, %s now): scores may differ from "
            "the run's validation metrics",
            split["preprocess"],
            now,
        )
    root = Path(split["data_root"])
    if not root.is_dir() and data.get("root") is None:
        log.info("Regenerating the embedded synthetic data set in %s", root)
        generate_lus_dataset(root, **data["synthetic"])
    wanted = {_frame_id(sample) for sample in split["val"]}
    records = {}
    settings = ReadSettings.from_data_config(data)
    for pair in discover_pairs(root):
        # Only read the files that hold validation frames (a cine file holds <id>_f<k>).
        if pair.id in wanted or any(i.startswith(f"{pair.id}_f") for i in wanted):
            records.update({r.id: r for r in settings.frames(pair) if r.id in wanted})
    missing = sorted(i for i in wanted if i not in records)
    if missing:
        raise DataError(
            root,
            f"{len(missing)} validation frames of {split_file} are not in this data folder "
            f"(e.g. {missing[0]})",
        )
    cases = []
    for sample in split["val"]:
        record = records[_frame_id(sample)]
        flipped = sample.endswith(FLIP_SUFFIX)
        cases.append(Case(sample, record.source, record.image, record.mask, flipped))
    return root, cases


def _frame_id(sample_id: str) -> str:
    return sample_id.removesuffix(FLIP_SUFFIX)
