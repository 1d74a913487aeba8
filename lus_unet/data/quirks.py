"""Data that reads and preprocesses without error but is probably not what the user meant.

Each kind of doubt is reported once, as one warning naming its files, by the data checker and
by training (:meth:`lus_unet.data.datamodule.FolderDataModule.setup`):

- every mask empty, or every mask full: there is nothing to learn;
- masks with most pixels foreground: the inverse of the usual convention (1 = the structure);
- negative values in a frame read as a linear envelope, which cannot be negative (signed
  RF-like data?): the log compression then floors them to black;
- 8-bit data in a MAT file read as a linear envelope (``kind: auto`` takes every MAT file for
  one): a display image would be log-compressed a second time.

The doubts travel with the preprocessed frames, through the preprocessing cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from lus_unet.data.io import FrameRecord

EMPTY, FULL, INVERTED, NEGATIVE, EIGHT_BIT_MAT = (
    "empty_mask",
    "full_mask",
    "inverted_mask",
    "negative_envelope",
    "eight_bit_mat",
)
# A rib, a pleural line or a salient object covers well under half of a frame.
_INVERTED_FRACTION = 0.5
# Interpolated exports can dip slightly below zero next to bright echoes; signed RF data reach
# about minus the peak. Below this share of the peak, negatives are taken for RF.
_NEGATIVE_SHARE = 0.05
_FILES_SHOWN = 3


@dataclass
class Quirks:
    """The doubts about a data set's frames, each with the frames and files it concerns.

    Attributes:
        frames: frames seen.
        counts: kind -> frames of that kind.
        files: kind -> the files concerned, in the order first seen.
    """

    frames: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)

    def note(self, record: FrameRecord, kind: str, mask_file: Path, configured_kind: str) -> None:
        """Look at one frame as read (before preprocessing) and its mask.

        Args:
            record: the frame and its mask as read.
            kind: what the frame was preprocessed as (``linear`` or ``log``).
            mask_file: its mask's file.
            configured_kind: ``data.preprocess.kind`` (``auto``, ``linear`` or ``log``).
        """
        self.frames += 1
        fraction = float(record.mask.mean())
        if fraction == 0:
            self._add(EMPTY, mask_file)
        if fraction == 1:
            self._add(FULL, mask_file)
        if fraction > _INVERTED_FRACTION:
            self._add(INVERTED, mask_file)
        if kind != "linear":
            return
        image = record.image
        if image.dtype.kind in "if" and image.min() < -_NEGATIVE_SHARE * image.max():
            self._add(NEGATIVE, record.source)
        eight_bit = image.dtype.kind in "iu" and image.dtype.itemsize == 1
        if eight_bit and configured_kind == "auto" and record.source.suffix.lower() == ".mat":
            self._add(EIGHT_BIT_MAT, record.source)

    def _add(self, kind: str, path: Path) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        files = self.files.setdefault(kind, [])
        if str(path) not in files:
            files.append(str(path))

    def messages(self) -> list[str]:
        """One line per doubt that applies, naming its files."""
        n = self.counts
        lines = []
        if self.frames and n.get(EMPTY) == self.frames:
            lines.append(
                f"every mask is empty ({self._files(EMPTY)}): there is nothing to learn; "
                "check data.mask_dir and that foreground is 1 or 255"
            )
        if self.frames and n.get(FULL) == self.frames:
            lines.append(
                f"every mask is full ({self._files(FULL)}): there is nothing to learn; "
                "check data.mask_dir and that background is 0"
            )
        elif n.get(INVERTED):
            lines.append(
                f"masks mostly foreground, the inverse of the usual convention, in "
                f"{_frames(n[INVERTED])} of {self.frames} ({self._files(INVERTED)}); "
                "foreground (1 or 255) must mark the structure to segment: invert masks "
                "that mark the background"
            )
        if n.get(NEGATIVE):
            lines.append(
                f"negative values, which an envelope cannot have (signed RF-like data?), in "
                f"{_frames(n[NEGATIVE])} read as a linear envelope ({self._files(NEGATIVE)}); "
                "store the envelope (abs of the analytic signal), or set "
                "data.preprocess.kind=log for log-compressed data"
            )
        if n.get(EIGHT_BIT_MAT):
            lines.append(
                f"8-bit data in MAT files, log-compressed as a linear envelope "
                f"(data.preprocess.kind=auto reads MAT files as linear), in "
                f"{_frames(n[EIGHT_BIT_MAT])} ({self._files(EIGHT_BIT_MAT)}); set "
                "data.preprocess.kind=log if they are display (already log-compressed) images"
            )
        return lines

    def _files(self, kind: str) -> str:
        files = self.files[kind]
        more = f" and {len(files) - _FILES_SHOWN} more" if len(files) > _FILES_SHOWN else ""
        noun = "file" if len(files) == 1 else "files"
        return f"{len(files)} {noun}: {', '.join(files[:_FILES_SHOWN])}{more}"

    def to_json(self) -> str:
        """The doubts as JSON text (stored in the preprocessing cache)."""
        return json.dumps({"frames": self.frames, "counts": self.counts, "files": self.files})

    @classmethod
    def from_json(cls, text: str) -> Quirks:
        """The doubts stored by :meth:`to_json`.

        Args:
            text: its output.
        """
        data = json.loads(text)
        return cls(int(data["frames"]), dict(data["counts"]), dict(data["files"]))


def _frames(n: int) -> str:
    return f"{n} frame" if n == 1 else f"{n} frames"
