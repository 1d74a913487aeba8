"""A Figure 5-style grid: the same validation frames, their ground truth, and every
configuration's prediction overlaid (true positives yellow, misses green, false alarms red)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from lus_unet.data.network_input import as_network_input
from lus_unet.data.samples import FLIP_SUFFIX
from lus_unet.data.spec import spec_from_run_config
from lus_unet.evaluation.checkpoints import load_checkpoint
from lus_unet.figures.overlay import overlay
from lus_unet.metrics.batch import binarize
from lus_unet.report.collect import Run
from lus_unet.run_folder import RunFolder

log = logging.getLogger(__name__)

MIN_TILE = 128  # small CPU-run images are enlarged so that the figure stays readable
LABEL_HEIGHT = 14


def representative_runs(runs: list[Run]) -> list[Run]:
    """One finished LUS run per configuration (its lowest fold), with a best checkpoint."""
    chosen: dict[tuple[str, ...], Run] = {}
    for run in runs:
        if not run.finished or not str(run.config.get("data_size", "")).startswith("lus"):
            continue
        if not RunFolder(run.path).best_checkpoint.is_file():
            continue
        fold = run.metrics.get("fold")
        rank = -1 if fold is None else fold
        current = chosen.get(run.configuration)
        current_fold = None if current is None else current.metrics.get("fold")
        if current is None or rank < (-1 if current_fold is None else current_fold):
            chosen[run.configuration] = run
    return list(chosen.values())


def common_validation_frames(runs: list[Run], n_rows: int) -> list[str]:
    """Source-frame ids (no flip copies) that every run validated on, sorted, at most n."""
    sets = [set(RunFolder(r.path).read_split()["val"]) for r in runs]
    common = set.intersection(*sets) if sets else set()
    return sorted(i for i in common if not i.endswith(FLIP_SUFFIX))[:n_rows]


def _load_frames(run: Run, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    # The run's own readers and preprocessing, as training loaded them (through the cache).
    spec = spec_from_run_config(run.config)
    spec.prepare()
    frames = spec.load()
    index = {frame_id: k for k, frame_id in enumerate(frames.ids)}
    rows = [index[i] for i in ids]
    return frames.images[rows], frames.masks[rows]


@torch.inference_mode()
def _predict(run: Run, images: np.ndarray) -> torch.Tensor:
    net = load_checkpoint(RunFolder(run.path).best_checkpoint).net
    logits = net(as_network_input(images))
    return binarize(logits, float(run.config.get("threshold", 0.5)))[:, 0]


def _tile(rgb: torch.Tensor, size: int) -> Image.Image:
    array = (rgb.clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    return Image.fromarray(array).resize((size, size), Image.NEAREST)


def draw_comparison(runs: list[Run], out_file: Path, n_rows: int = 5) -> Path | None:
    """Draw the grid into ``out_file`` (PNG); None when no common validation frame exists."""
    runs = representative_runs(runs)
    ids = common_validation_frames(runs, n_rows)
    if not ids:
        log.warning("No validation frame is shared by the runs; no comparison figure drawn")
        return None
    images, masks = _load_frames(runs[0], ids)
    predictions = [_predict(run, images) for run in runs]
    size = max(MIN_TILE, images.shape[-1])
    labels = [
        "frame",
        "ground truth",
        *(f"{r.configuration[0]} {r.configuration[3]}" for r in runs),
    ]
    canvas = Image.new("RGB", (size * len(labels), LABEL_HEIGHT + size * len(ids)), "white")
    draw = ImageDraw.Draw(canvas)
    for column, label in enumerate(labels):
        draw.text((column * size + 2, 1), label, fill="black")
    for row, frame_id in enumerate(ids):
        frame = torch.from_numpy(images[row])[None]
        mask = torch.from_numpy(masks[row]).float()[None]
        tiles = [frame.expand(3, -1, -1), mask.expand(3, -1, -1)]
        tiles += [overlay(frame, mask, pred[row][None].float()) for pred in predictions]
        for column, tile in enumerate(tiles):
            canvas.paste(_tile(tile, size), (column * size, LABEL_HEIGHT + row * size))
        draw.text((2, LABEL_HEIGHT + row * size + 2), frame_id, fill="yellow")
    out_file.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(out_file)
    return out_file
