"""The schema of the ``data`` group (``conf/data/*.yaml``) and of the data checker's config.

Imports no torch: the data checker validates its config with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from lus_unet.config.paths import CachePaths
from lus_unet.config.rules import AtLeast, Explain, Length, MayBeAbsent, MultipleOf, OneOf, Range
from lus_unet.config.validate import join
from lus_unet.data.augment import AUGMENTATIONS
from lus_unet.data.preprocess import DESPECKLE_MODES, KINDS, SHRINK_INTERPOLATIONS, SHRINKAGES
from lus_unet.data.samples import SPLIT_MODES
from lus_unet.data.synthetic import LUS_IMAGE_FORMATS, LUS_PROFILES
from lus_unet.errors import ConfigError, DataError

DOWNSAMPLING = 16  # every network pools four times by 2

Positive = Annotated[int, AtLeast(1)]
NotNegative = Annotated[int, AtLeast(0)]
Seed = Annotated[int, Range(ge=0, le=2**32 - 1)]  # numpy's and Lightning's seed range
FrameAxis = Annotated[int, Range(ge=-3, le=2)]
ImageSize = Annotated[
    list[Annotated[int, Range(ge=DOWNSAMPLING), MultipleOf(DOWNSAMPLING)]],
    Length(2),
    Explain(
        f"needs [height, width], each a positive multiple of {DOWNSAMPLING} "
        "(the networks down-sample four times by 2)"
    ),
]
# data.preprocess.despeckle and recipe.despeckle: auto (linear-envelope frames only) or forced.
Despeckle = Annotated[
    bool | str, OneOf(DESPECKLE_MODES), Explain("unknown value; valid: auto, true, false")
]


def check_folder_exists(node: Any, key: str) -> None:
    """Refuse a ``root`` that names no folder (a DataError naming the path), or is empty.

    An empty value is what ``data.root=$DATA`` gives when the shell variable is unset; it
    must not quietly mean the default (null), which is another data set.

    Args:
        node: a group with a ``root`` key.
        key: the group's dotted key.

    Raises:
        ConfigError: ``root`` is empty.
        DataError: ``root`` names no folder.
    """
    root = node.get("root")
    if root is not None and not str(root).strip():
        default = "the embedded synthetic set" if "synthetic" in node else "the default"
        option = join(key, "root")
        raise ConfigError(
            f"{option}={root}: empty (an unset shell variable?); name a data folder, or leave "
            f"{option} out (or set {option}=null) for {default}"
        )
    if root is not None and not Path(str(root)).expanduser().is_dir():
        raise DataError(root, f"data folder does not exist ({join(key, 'root')})")
    # Before any data is read: the file's contents are checked when the samples are taken.
    frames_file = node.get("frames_file")
    if frames_file is not None and not Path(str(frames_file)).expanduser().is_file():
        raise DataError(frames_file, f"frames file does not exist ({join(key, 'frames_file')})")


@dataclass
class Preprocess:
    """``data.preprocess``: :class:`lus_unet.data.preprocess.PreprocessConfig` of LUS frames."""

    kind: Annotated[str, OneOf(KINDS)]
    dynamic_range_db: Annotated[float, Range(gt=0)]
    despeckle: Despeckle
    wavelet: str
    levels: Positive
    shrinkage: Annotated[str, OneOf(SHRINKAGES)]
    interpolation: Annotated[str, OneOf(tuple(SHRINK_INTERPOLATIONS))]


@dataclass
class LUSSynthetic:
    """``data.synthetic`` of ``data=lus``: the embedded set's generator arguments."""

    n_frames: Positive
    seed: Seed
    image_format: Annotated[str, OneOf(LUS_IMAGE_FORMATS)]
    profile: Annotated[str, OneOf(LUS_PROFILES)]


@dataclass
class SalientSynthetic:
    """``data.synthetic`` of ``data=salient``."""

    n_images: Positive
    seed: Seed


@dataclass
class DataCommon:
    """The keys every data set has (:class:`lus_unet.data.spec.DataSpec`)."""

    root: str | None
    cache_dir: str
    cache: bool
    image_dir: str | None
    mask_dir: str | None
    image_size: ImageSize
    batch_size: Positive
    num_workers: NotNegative
    n_folds: Annotated[int, AtLeast(2)]
    val_fraction: Annotated[float, Range(gt=0, lt=1)]
    n_frames: Positive | None
    hflip_copies: bool
    # Absent from checkpoints written before it existed (they took a seeded draw).
    frames_file: Annotated[str | None, MayBeAbsent()]
    group_by: str
    split: Annotated[str, OneOf(SPLIT_MODES)]
    augment: Annotated[str, OneOf(AUGMENTATIONS)]
    mask_threshold: Annotated[float | None, Range(ge=0)]
    # Absent from checkpoints written before the limit existed.
    max_pixels: Annotated[Positive, MayBeAbsent()]

    check_together = staticmethod(check_folder_exists)


@dataclass
class LUSData(DataCommon):
    """``conf/data/lus.yaml``."""

    _target_: Literal["lus_unet.data.lus_datamodule.LUSDataModule"]
    mat_key: str | None
    mask_mat_key: str | None
    frame_axis: FrameAxis
    preprocess: Preprocess
    synthetic: LUSSynthetic


@dataclass
class SalientData(DataCommon):
    """``conf/data/salient.yaml``."""

    _target_: Literal["lus_unet.data.salient_datamodule.SalientDataModule"]
    synthetic: SalientSynthetic


Data = LUSData | SalientData


@dataclass
class CheckConfig:
    """``conf/check.yaml``: ``python -m lus_unet.check``."""

    data: Data
    seed: Seed
    paths: CachePaths
    # size=lus600 also sets trainer.max_epochs, which the checker does not use.
    trainer: Annotated[dict[str, Any], MayBeAbsent()]
