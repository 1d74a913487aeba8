"""One log line per epoch for batch jobs, instead of a progress bar redrawn at every step.

A progress bar written to a file (a cluster job's log) is thousands of carriage-return
redraws; when standard output is not a terminal the Trainer shows none and this callback logs
``epoch 3/25: train/loss 0.4123 val/loss 0.3501 val/dice 0.8123 ... (12.3 s)`` instead.
"""

from __future__ import annotations

import logging
import math
import sys
import time

import lightning as L
from lightning.pytorch.callbacks import Callback

from lus_unet.progress import is_terminal

log = logging.getLogger(__name__)

# The figures worth a line, in this order, when the epoch logged them.
KEY_METRICS = (
    "train/loss_epoch",
    "val/loss",
    "val/dice",
    "val/iou",
    "val/hd95_px",
    "train/lr",
)


def stdout_is_terminal() -> bool:
    """Whether standard output is an interactive terminal (else: a file, a pipe, a batch log)."""
    return is_terminal(sys.stdout)


class EpochLogLine(Callback):
    """Log the key metrics of every finished training epoch in one line (global rank 0 only)."""

    def __init__(self) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Lightning runs the epoch's validation before this hook: its metrics are in.
        if not trainer.is_global_zero:
            return
        log.info("%s", self.line(trainer))

    def line(self, trainer: L.Trainer) -> str:
        """The epoch's line: number, key metrics present, wall time."""
        metrics = trainer.callback_metrics
        figures = []
        for name in KEY_METRICS:
            if name in metrics:
                value = float(metrics[name])  # one host sync per epoch, not per step
                if math.isfinite(value):
                    figures.append(f"{name.removesuffix('_epoch')} {value:.4g}")
        total = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else "?"
        seconds = time.perf_counter() - self._started
        return f"epoch {trainer.current_epoch + 1}/{total}: {' '.join(figures)} ({seconds:.1f} s)"
