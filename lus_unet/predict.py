"""Segment raw frames: ``python -m lus_unet.predict checkpoint=<ckpt|run> input=<file|folder>``.

Each frame is preprocessed exactly as the checkpoint's training run did (from the
``run_config`` it stores), the ensemble's mean probability is resized to the frame's own size
and thresholded, and ``masks/<id>.png`` (0/255), ``overlays/<id>.png`` and optionally
``probabilities/<id>.npy|.png`` are written into ``output_dir``. A bad input file is skipped
(the others are written, the exit status is 1); ``skip_existing=true`` continues a run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig
from tqdm.auto import tqdm

from lus_unet.config.inference import PredictConfig
from lus_unet.config.validate import validate
from lus_unet.evaluation.checkpoints import load_checkpoints, resolve_checkpoints
from lus_unet.evaluation.frames import FramesToDo, iter_raw_frames, list_frame_files
from lus_unet.evaluation.inference import InferenceSettings, batched, resize_probabilities
from lus_unet.evaluation.input_failures import InputFailures
from lus_unet.evaluation.prediction_files import PredictionWriter, display_image
from lus_unet.utils import command

log = logging.getLogger(__name__)


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
    paths = resolve_checkpoints(cfg.checkpoint, cfg.allow_partial)
    models = load_checkpoints(paths, settings.torch_device(), cfg.max_parameters)
    # The training run's reader and preprocessing; the reader keys given here, where given.
    spec = models[0].spec
    reader_keys = ("mat_key", "frame_axis", "max_pixels")
    read = spec.read.overridden({key: cfg[key] for key in reader_keys})
    inputs = Path(cfg.input).expanduser()
    files = list_frame_files(inputs, read.suffixes)
    writer.check_free([f.stem for f in files])
    ensemble = settings.ensemble(models)
    failures = InputFailures()
    todo = FramesToDo(writer.kept, spec.preprocess, failures)
    raw = iter_raw_frames(tqdm(files, desc="Predicting", unit="file"), read, failures)
    n_frames = 0
    for batch in batched(todo.prepared(raw), settings.batch_size_for(models)):
        probs = ensemble(np.stack([image for _, image, _ in batch]))
        for (frame, _, kind), prob in zip(batch, probs, strict=True):
            # Resized before thresholding, so the mask's edge follows the smooth probability.
            full = resize_probabilities(prob, frame.image.shape)
            display = display_image(frame.image, kind, spec.preprocess.dynamic_range_db)
            writer.write(frame.id, settings.mask(full), display, full)
            n_frames += 1
    log.info(
        "Predicted %d frames of %d files with %d model(s)%s -> %s%s",
        n_frames,
        len(files) - len(failures),
        len(models),
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
        "checkpoints": [str(m.path) for m in models],
    }


main = command(predict, "predict")

if __name__ == "__main__":
    main()
