"""Input files that predict skipped: each logged when met, all listed again at the end."""

from __future__ import annotations

import logging
from pathlib import Path

from lus_unet.errors import DataError, LusUnetError

log = logging.getLogger(__name__)

# Reasons repeated in the final one-line error; the others are in the list logged above it.
_SHOWN = 3


class InputFailures:
    """The input files that could not be predicted, each with its reasons, in the order met."""

    def __init__(self) -> None:
        self.reasons: dict[Path, list[str]] = {}

    def __len__(self) -> int:
        return len(self.reasons)

    def add(self, source: Path, error: LusUnetError) -> None:
        """Record and log why ``source``, or one frame of it, is skipped.

        Args:
            source: the input file.
            error: what is wrong with it (its message names the file).
        """
        log.warning("Skipping: %s", error)
        self.reasons.setdefault(source, []).append(str(error))

    def raise_if_any(self, inputs: Path, n_files: int, n_frames: int, out_dir: Path) -> None:
        """List every failure, then stop with one line naming the first ones (exit status 1).

        Args:
            inputs: the ``input`` file or folder.
            n_files: how many input files there were.
            n_frames: how many frames of the other files were written.
            out_dir: where they were written.

        Raises:
            DataError: when any input failed.
        """
        if not self.reasons:
            return
        reasons = [reason for listed in self.reasons.values() for reason in listed]
        log.error("%d of %d input files failed:", len(self), n_files)
        for reason in reasons:
            log.error("  %s", reason)
        shown = "; ".join(reasons[:_SHOWN])
        more = f"; and {len(reasons) - _SHOWN} more, listed above" if len(reasons) > _SHOWN else ""
        raise DataError(
            inputs,
            f"{len(self)} of {n_files} input files failed and were skipped ({shown}{more}); "
            f"{n_frames} frames of the others were written to {out_dir}. Fix or remove the "
            "failed files, then re-run with skip_existing=true to predict only what is missing",
        )
