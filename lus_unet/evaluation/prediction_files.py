"""Prediction files: masks, overlays and probability maps, never overwriting an existing file."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from lus_unet.config.inference import PROBABILITY_FORMATS
from lus_unet.data.preprocess import FrameKind, log_compress, to_unit_range
from lus_unet.errors import ConfigError

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

    Every file is created whole (a temporary file, then a link) and never replaces an existing
    one, so a run killed part-way leaves only complete files, which ``skip_existing`` keeps.

    Args:
        root: the output folder (created if needed).
        overlays: write an overlay per frame.
        probabilities: ``none``, ``npy`` (float32) or ``png16`` (uint16, probability x 65535).
        skip_existing: keep outputs already there and write only the missing ones (continues
            an interrupted predict); otherwise any existing output is refused.
    """

    def __init__(
        self,
        root: Path,
        overlays: bool = True,
        probabilities: str = "none",
        skip_existing: bool = False,
    ) -> None:
        if probabilities not in PROBABILITY_FORMATS:
            raise ConfigError(
                f"probabilities must be one of {PROBABILITY_FORMATS}, got {probabilities!r}"
            )
        self.root = root
        self.overlays = overlays
        self.probabilities = probabilities
        self.skip_existing = skip_existing

    def folders(self) -> list[Path]:
        """The sub-folders this writer fills."""
        names = [MASK_DIR] + [OVERLAY_DIR] * self.overlays
        if self.probabilities != "none":
            names.append(PROBABILITY_DIR)
        return [self.root / name for name in names]

    def outputs(self, frame_id: str) -> list[Path]:
        """The files of one frame, in the order of :meth:`folders`."""
        npy = self.probabilities == "npy"
        return [
            folder / f"{frame_id}.{'npy' if npy and folder.name == PROBABILITY_DIR else 'png'}"
            for folder in self.folders()
        ]

    def kept(self, frame_id: str) -> bool:
        """Whether ``skip_existing`` keeps this frame: all its files are there already.

        Args:
            frame_id: the frame's id.
        """
        return self.skip_existing and all(path.is_file() for path in self.outputs(frame_id))

    def check_free(self, stems: Sequence[str]) -> None:
        """Refuse, before any work, when outputs of these input files already exist.

        Nothing is checked with ``skip_existing``: existing outputs are then kept.

        Args:
            stems: the input files' stems (a cine file's frames are ``<stem>_f<k>``).
        """
        if self.skip_existing:
            return
        pattern = re.compile(rf"(?:{'|'.join(map(re.escape, stems))})(?:_f\d+)?\.(?:png|npy)")
        for folder in self.folders():
            if not folder.is_dir():
                continue
            taken = sorted(p for p in folder.iterdir() if pattern.fullmatch(p.name))
            if taken:
                more = f" and {len(taken) - 1} more" if len(taken) > 1 else ""
                raise ConfigError(
                    f"{taken[0]}{more} already exist; refusing to overwrite predictions "
                    "(choose another output_dir, or pass skip_existing=true to keep them "
                    "and predict only the missing ones)"
                )

    def write(self, frame_id: str, mask: np.ndarray, display: np.ndarray, prob: np.ndarray) -> None:
        """Write one frame's outputs (with ``skip_existing``, only those not there yet).

        Args:
            frame_id: the frame's id (the file name stem).
            mask: 2-D boolean mask at the frame's size.
            display: the frame as shown, float in [0, 1], same size (for the overlay).
            prob: the probability map, same size.
        """
        contents = {MASK_DIR: lambda: mask.astype(np.uint8) * 255}
        if self.overlays:
            contents[OVERLAY_DIR] = lambda: _overlay(mask, display)
        if self.probabilities == "npy":
            contents[PROBABILITY_DIR] = lambda: prob.astype(np.float32)
        elif self.probabilities == "png16":
            contents[PROBABILITY_DIR] = lambda: np.rint(
                np.clip(prob, 0.0, 1.0) * _UINT16_MAX
            ).astype(np.uint16)
        for path, content in zip(self.outputs(frame_id), contents.values(), strict=True):
            if self.skip_existing and path.exists():
                continue  # complete: every file is created whole
            path.parent.mkdir(parents=True, exist_ok=True)
            _create(path, content())


def _overlay(mask: np.ndarray, display: np.ndarray) -> np.ndarray:
    """The frame with the mask drawn in yellow, as 8-bit RGB.

    :func:`lus_unet.figures.overlay.overlay` with the prediction as its own ground truth (every
    pixel a true positive), in numpy: predicting with an exported model needs no torch.
    """
    m = mask.astype(np.float32)
    gray = np.clip(display.astype(np.float32), 0, 1)
    alpha = np.float32(0.45) * m
    colour = np.stack([m, m, np.zeros_like(m)], axis=-1)
    rgb = gray[..., None] * (1 - alpha)[..., None] + colour * alpha[..., None]
    return np.rint(rgb * 255).astype(np.uint8)


def _create(path: Path, array: np.ndarray) -> None:
    """Create ``path`` whole or not at all (``.npy``, else PNG), never replacing a file.

    The data goes to a temporary file first: a run killed mid-write leaves no partial output
    that a later ``skip_existing`` run would keep.
    """
    if path.exists():
        raise ConfigError(f"{path} already exists; refusing to overwrite it")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if path.suffix == ".npy":
                np.save(handle, array)
            else:
                Image.fromarray(array).save(handle, format="PNG")
        link_new_file(Path(tmp), path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def link_new_file(tmp: Path, path: Path) -> None:
    """Give ``tmp``'s content the name ``path`` unless that name exists.

    Raises:
        ConfigError: ``path`` exists (nothing is overwritten).
    """
    try:
        os.link(tmp, path)  # atomic and, unlike a rename, fails on an existing file
    except FileExistsError:
        raise ConfigError(f"{path} already exists; refusing to overwrite it") from None
    except OSError:
        # No hard links here (FAT, some network shares): a rename, checked just before.
        if path.exists():
            raise ConfigError(f"{path} already exists; refusing to overwrite it") from None
        os.replace(tmp, path)
