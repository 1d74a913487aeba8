"""Prediction files: masks, overlays and probability maps, never overwriting an existing file."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from PIL import Image

from lus_unet.data.preprocess import FrameKind, log_compress, to_unit_range
from lus_unet.errors import ConfigError
from lus_unet.figures.overlay import overlay

PROBABILITY_FORMATS: tuple[str, ...] = ("none", "npy", "png16")
MASK_DIR, OVERLAY_DIR, PROBABILITY_DIR = "masks", "overlays", "probabilities"
_UINT16_MAX = 65535


def display_image(frame: np.ndarray, kind: FrameKind, dynamic_range_db: float) -> np.ndarray:
    """A frame as a viewer shows it, float32 in [0, 1] at its own size (not despeckled).

    Args:
        frame: the raw 2-D frame.
        kind: ``linear`` (log-compressed to ``dynamic_range_db`` here) or ``log``.
        dynamic_range_db: the training run's display dynamic range.
    """
    return log_compress(frame, dynamic_range_db) if kind == "linear" else to_unit_range(frame)


class PredictionWriter:
    """Writes ``masks/<id>.png`` (0/255), ``overlays/<id>.png`` and ``probabilities/<id>.*``.

    Files are created exclusively: an existing file is never overwritten.

    Args:
        root: the output folder (created if needed).
        overlays: write an overlay per frame.
        probabilities: ``none``, ``npy`` (float32) or ``png16`` (uint16, probability x 65535).
    """

    def __init__(self, root: Path, overlays: bool = True, probabilities: str = "none") -> None:
        if probabilities not in PROBABILITY_FORMATS:
            raise ConfigError(
                f"probabilities must be one of {PROBABILITY_FORMATS}, got {probabilities!r}"
            )
        self.root = root
        self.overlays = overlays
        self.probabilities = probabilities

    def folders(self) -> list[Path]:
        """The sub-folders this writer fills."""
        names = [MASK_DIR] + [OVERLAY_DIR] * self.overlays
        if self.probabilities != "none":
            names.append(PROBABILITY_DIR)
        return [self.root / name for name in names]

    def check_free(self, stems: Sequence[str]) -> None:
        """Refuse, before any work, when outputs of these input files already exist.

        Args:
            stems: the input files' stems (a cine file's frames are ``<stem>_f<k>``).
        """
        pattern = re.compile(rf"(?:{'|'.join(map(re.escape, stems))})(?:_f\d+)?\.(?:png|npy)")
        for folder in self.folders():
            if not folder.is_dir():
                continue
            taken = sorted(p for p in folder.iterdir() if pattern.fullmatch(p.name))
            if taken:
                more = f" and {len(taken) - 1} more" if len(taken) > 1 else ""
                raise ConfigError(
                    f"{taken[0]}{more} already exist; refusing to overwrite predictions "
                    "(choose another output_dir)"
                )

    def write(self, frame_id: str, mask: np.ndarray, display: np.ndarray, prob: np.ndarray) -> None:
        """Write one frame's outputs.

        Args:
            frame_id: the frame's id (the file name stem).
            mask: 2-D boolean mask at the frame's size.
            display: the frame as shown, float in [0, 1], same size (for the overlay).
            prob: the probability map, same size.
        """
        for folder in self.folders():
            folder.mkdir(parents=True, exist_ok=True)
        _create(self.root / MASK_DIR / f"{frame_id}.png", _png(mask.astype(np.uint8) * 255))
        if self.overlays:
            m = torch.from_numpy(mask[None].astype(np.float32))
            rgb = overlay(torch.from_numpy(display[None].astype(np.float32)), m, m)
            image = np.rint(rgb.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
            _create(self.root / OVERLAY_DIR / f"{frame_id}.png", _png(image))
        if self.probabilities == "npy":
            data = prob.astype(np.float32)
            _create(self.root / PROBABILITY_DIR / f"{frame_id}.npy", lambda f: np.save(f, data))
        elif self.probabilities == "png16":
            scaled = np.rint(np.clip(prob, 0.0, 1.0) * _UINT16_MAX).astype(np.uint16)
            _create(self.root / PROBABILITY_DIR / f"{frame_id}.png", _png(scaled))


def _png(array: np.ndarray) -> Callable[[BinaryIO], None]:
    return lambda handle: Image.fromarray(array).save(handle, format="PNG")


def _create(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Create ``path`` exclusively and fill it; a failed write leaves no partial file."""
    try:
        handle = path.open("xb")
    except FileExistsError:
        raise ConfigError(f"{path} already exists; refusing to overwrite it") from None
    try:
        with handle:
            write(handle)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
