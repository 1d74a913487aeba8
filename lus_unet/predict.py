"""Segment raw frames: ``python -m lus_unet.predict checkpoint=<ckpt|run> input=<file|folder>``.

Or ``exported=<file>`` (``python -m lus_unet.export``): the graph runs through
onnxruntime (``.onnx``; neither torch nor Lightning is imported) or TorchScript (``.pt``),
with the reader, preprocessing and threshold of the file's metadata.

Each frame is preprocessed exactly as the model's training run did (from the ``run_config``
a checkpoint stores, or the exported file's metadata), the ensemble's mean probability is
resized to the frame's own size and thresholded, and ``masks/<id>.png`` (0/255),
``overlays/<id>.png`` and optionally ``probabilities/<id>.npy|.png`` are written into
``output_dir``. A bad input file is skipped
(the others are written, the exit status is 1); ``skip_existing=true`` continues a run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from lus_unet.config.inference import PredictConfig
from lus_unet.config.validate import validate
from lus_unet.data.frames import ReadOptions
from lus_unet.data.preprocess import PreprocessConfig
from lus_unet.evaluation.frames import FramesToDo, iter_raw_frames, list_frame_files
from lus_unet.evaluation.input_failures import InputFailures
from lus_unet.evaluation.prediction_files import PredictionWriter, display_image
from lus_unet.evaluation.settings import InferenceSettings, batched, resize_probabilities
from lus_unet.progress import progress
from lus_unet.utils import command

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Models:
    """What predict runs, from checkpoints or exported files alike.

    Attributes:
        ensemble: (N, H, W) preprocessed frames -> (N, H, W) mean probabilities.
        read: the training run's reader.
        preprocess: the training run's preprocessing.
        batch_size: frames per forward pass (configured, else the training run's).
        threshold: the model's own threshold (used unless one is configured).
        files: the checkpoints or exported files.
    """

    ensemble: Callable[[np.ndarray], np.ndarray]
    read: ReadOptions
    preprocess: PreprocessConfig
    batch_size: int
    threshold: float
    files: list[str]


def checkpoint_models(cfg: DictConfig, settings: InferenceSettings) -> Models:
    """The checkpoints' networks, run by torch."""
    # Imported here: the exported-model path must not import torch.
    from lus_unet.evaluation.checkpoints import (
        load_checkpoints,
        resolve_checkpoints,
        resolve_device,
    )
    from lus_unet.evaluation.inference import Ensemble

    paths = resolve_checkpoints(cfg.checkpoint, cfg.allow_partial)
    models = load_checkpoints(paths, resolve_device(settings.device), cfg.max_parameters)
    spec = models[0].spec
    return Models(
        Ensemble([m.net for m in models], settings.tta),
        spec.read,
        spec.preprocess,
        settings.batch_size_for(models),
        float(models[0].run_config.get("threshold", 0.5)),
        [str(m.path) for m in models],
    )


def exported_models(cfg: DictConfig, settings: InferenceSettings) -> Models:
    """The exported files' graphs, run by onnxruntime or TorchScript."""
    from lus_unet.deploy.runtime import ExportedEnsemble, load_exported_ensemble

    given = cfg.exported
    given = [given] if isinstance(given, str) else OmegaConf.to_container(given)
    paths = [Path(str(p)).expanduser() for p in given]
    networks = load_exported_ensemble(paths, settings.device)
    info = networks[0].info
    return Models(
        ExportedEnsemble(networks, settings.tta),
        info.read,
        info.preprocess,
        settings.batch_size or info.batch_size,
        info.threshold,
        [str(p) for p in paths],
    )


def predict(cfg: DictConfig) -> dict[str, Any]:
    """Predict as configured (``conf/predict.yaml``); returns what was written.

    A file or frame that cannot be read or preprocessed is skipped and the others are
    written; the run then ends with an error listing the skipped ones.

    Args:
        cfg: the predict configuration.
    """
    validate(cfg, PredictConfig)
    settings = InferenceSettings.from_config(cfg)
    out_dir = Path(cfg.output_dir).expanduser()
    writer = PredictionWriter(out_dir, cfg.overlays, cfg.probabilities, cfg.skip_existing)
    exported = cfg.exported is not None
    models = exported_models(cfg, settings) if exported else checkpoint_models(cfg, settings)
    settings = settings.with_model_threshold(models.threshold)
    # The training run's reader and preprocessing; the reader keys given here, where given.
    reader_keys = ("mat_key", "frame_axis", "max_pixels")
    read = models.read.overridden({key: cfg[key] for key in reader_keys})
    inputs = Path(cfg.input).expanduser()
    files = list_frame_files(inputs, read.suffixes)
    writer.check_free([f.stem for f in files])
    failures = InputFailures()
    todo = FramesToDo(writer.kept, models.preprocess, failures)
    raw = iter_raw_frames(progress(files, "Predicting", "file"), read, failures)
    n_frames = 0
    for batch in batched(todo.prepared(raw), models.batch_size):
        probs = models.ensemble(np.stack([image for _, image, _ in batch]))
        for (frame, _, kind), prob in zip(batch, probs, strict=True):
            # Resized before thresholding, so the mask's edge follows the smooth probability.
            full = resize_probabilities(prob, frame.image.shape)
            display = display_image(frame.image, kind, models.preprocess.dynamic_range_db)
            writer.write(frame.id, settings.mask(full), display, full)
            n_frames += 1
    log.info(
        "Predicted %d frames of %d files with %d %s%s -> %s%s",
        n_frames,
        len(files) - len(failures),
        len(models.files),
        "exported model(s)" if exported else "model(s)",
        " and flip TTA" if settings.tta else "",
        out_dir,
        f" (skip_existing=true: kept the outputs of {todo.n_kept} frame(s) already there)"
        if todo.n_kept
        else "",
    )
    failures.raise_if_any(inputs, len(files), n_frames, out_dir)
    return {
        "output_dir": str(out_dir),
        "n_files": len(files),
        "n_frames": n_frames,
        "n_kept": todo.n_kept,
        "checkpoints": [] if exported else models.files,
        "models": models.files if exported else [],
        "threshold": settings.threshold,
    }


main = command(predict, "predict")

if __name__ == "__main__":
    main()
