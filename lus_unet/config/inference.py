"""The schema of ``python -m lus_unet.evaluate`` and ``python -m lus_unet.predict``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from lus_unet.config.data import FrameAxis, NotNegative, Positive, check_folder_exists
from lus_unet.config.rules import Explain, Length, Matches, OneOf, Range, Required
from lus_unet.errors import ConfigError

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


def _check_one_model_source(node: Any, key: str) -> None:
    """Predict runs either checkpoints (torch) or exported files (onnxruntime), not both."""
    given = [name for name in ("checkpoint", "exported") if node[name] not in (None, "", [])]
    if not given:
        raise ConfigError(
            "checkpoint=<.ckpt file | run folder | CV run folder> or "
            "exported=<file written by python -m lus_unet.export> is required"
        )
    if len(given) == 2:
        raise ConfigError("checkpoint and exported: give one of them, not both")


@dataclass
class PredictConfig(Inference):
    """``conf/predict.yaml``."""

    # null: the model's own (its training run's; an exported file's metadata).
    threshold: Annotated[float | None, Range(gt=0, lt=1)]
    checkpoint: str | list[str] | None
    # Named so, not `model`: that is a config group, which Hydra would try to load.
    exported: str | list[str] | None
    input: Annotated[str | None, Required("frame file or folder of frames")]
    output_dir: str
    mat_key: str | None
    frame_axis: FrameAxis | None
    max_pixels: Positive | None
    overlays: bool
    probabilities: Annotated[str, OneOf(PROBABILITY_FORMATS)]
    skip_existing: bool

    check_together = staticmethod(_check_one_model_source)
