"""Segment raw frames: ``python -m lus_unet.predict checkpoint=<ckpt|run> input=<file|folder>``.

Each frame is preprocessed exactly as the checkpoint's training run did (from the
``run_config`` it stores), the ensemble's mean probability is resized to the frame's own size
and thresholded, and ``masks/<id>.png`` (0/255), ``overlays/<id>.png`` and optionally
``probabilities/<id>.npy|.png`` are written into ``output_dir``.
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
from lus_unet.data.frames import prepare_frame
from lus_unet.evaluation.checkpoints import load_checkpoints, resolve_checkpoints
from lus_unet.evaluation.frames import iter_raw_frames, list_frame_files
from lus_unet.evaluation.inference import InferenceSettings, batched, resize_probabilities
from lus_unet.evaluation.prediction_files import PredictionWriter, display_image
from lus_unet.utils import command

log = logging.getLogger(__name__)


def predict(cfg: DictConfig) -> dict[str, Any]:
    """Predict as configured (``conf/predict.yaml``); returns what was written.

    Args:
        cfg: the predict configuration.
    """
    validate(cfg, PredictConfig)
    settings = InferenceSettings.from_config(cfg)
    out_dir = Path(cfg.output_dir).expanduser()
    writer = PredictionWriter(out_dir, cfg.overlays, cfg.probabilities)
    models = load_checkpoints(resolve_checkpoints(cfg.checkpoint), settings.torch_device())
    # The training run's reader and preprocessing; the MAT keys given here, where given.
    spec = models[0].spec
    read = spec.read.overridden({"mat_key": cfg.mat_key, "frame_axis": cfg.frame_axis})
    preprocess = spec.preprocess
    files = list_frame_files(Path(cfg.input).expanduser(), read.suffixes)
    writer.check_free([f.stem for f in files])
    ensemble = settings.ensemble(models)
    progress = tqdm(files, desc="Predicting", unit="file")
    n_frames = 0
    for batch in batched(iter_raw_frames(progress, read), settings.batch_size_for(models)):
        inputs = [prepare_frame(f.image, f.source, f.id, preprocess) for f in batch]
        probs = ensemble(np.stack([image for image, _ in inputs]))
        for frame, (_, kind), prob in zip(batch, inputs, probs, strict=True):
            # Resized before thresholding, so the mask's edge follows the smooth probability.
            full = resize_probabilities(prob, frame.image.shape)
            mask = settings.mask(full)
            display = display_image(frame.image, kind, preprocess.dynamic_range_db)
            writer.write(frame.id, mask, display, full)
            n_frames += 1
    log.info(
        "Predicted %d frames of %d files with %d model(s)%s -> %s",
        n_frames,
        len(files),
        len(models),
        " and flip TTA" if settings.tta else "",
        out_dir,
    )
    return {
        "output_dir": str(out_dir),
        "n_files": len(files),
        "n_frames": n_frames,
        "checkpoints": [str(m.path) for m in models],
    }


main = command(predict, "predict")

if __name__ == "__main__":
    main()
