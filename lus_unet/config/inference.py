"""The schema of ``python -m lus_unet.evaluate`` and ``python -m lus_unet.predict``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

from lus_unet.config.data import FrameAxis, NotNegative, Positive, check_folder_exists
from lus_unet.config.rules import Explain, Length, Matches, OneOf, Range, Required

# How predict may write probabilities (lus_unet.evaluation.prediction_files). Defined here, as
# evaluation checks checkpoints' stored configs with this package: it may not import it back.
PROBABILITY_FORMATS: tuple[str, ...] = ("none", "npy", "png16")
Checkpoints = Annotated[str | list[str] | None, Required(".ckpt file | run folder | CV run folder")]


@dataclass
class Inference:
    """``conf/inference.yaml``, shared by evaluate and predict: folds used, masks made."""

    threshold: Annotated[float, Range(gt=0, lt=1)]
    tta: bool
    largest_component: bool
    batch_size: Positive | None
    device: Annotated[
        str, Matches(r"auto|cpu|mps|cuda(:\d+)?", "auto, cpu, mps, cuda or cuda:<index>")
    ]
    max_parameters: Positive
    allow_partial: bool


@dataclass
class EvaluateData:
    """``data`` of ``conf/evaluate.yaml``: a folder to evaluate on, and how to read it."""

    root: str | None
    # null: as the checkpoint's training run read its data.
    image_dir: str | None
    mask_dir: str | None
    mat_key: str | None
    mask_mat_key: str | None
    frame_axis: FrameAxis | None
    mask_threshold: Annotated[float | None, Range(ge=0)]
    max_pixels: Positive | None

    check_together = staticmethod(check_folder_exists)


@dataclass
class EvaluateConfig(Inference):
    """``conf/evaluate.yaml``."""

    checkpoint: Checkpoints
    data: EvaluateData
    output_dir: str | None
    resolution: Literal["network", "original"]
    spacing_mm: Annotated[
        list[Annotated[float, Range(gt=0, lt=math.inf)]] | None,
        Length(2),
        Explain("needs [dy, dx], an original pixel's size in mm (two positive numbers), or null"),
    ]
    n_worst: NotNegative


@dataclass
class PredictConfig(Inference):
    """``conf/predict.yaml``."""

    checkpoint: Checkpoints
    input: Annotated[str | None, Required("frame file or folder of frames")]
    output_dir: str
    mat_key: str | None
    frame_axis: FrameAxis | None
    max_pixels: Positive | None
    overlays: bool
    probabilities: Annotated[str, OneOf(PROBABILITY_FORMATS)]
    skip_existing: bool
