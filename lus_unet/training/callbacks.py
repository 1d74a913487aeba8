"""Callbacks: remember the validation metrics of the best epoch."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import Callback


class BestMetrics(Callback):
    """Keep every ``val/*`` metric of the epoch with the highest ``monitor`` value.

    It uses the same rule as the best checkpoint (strictly higher wins), so the metrics it
    reports are those of ``checkpoints/best.ckpt``.

    Args:
        monitor: the metric that ranks epochs (higher is better).
    """

    def __init__(self, monitor: str = "val/dice") -> None:
        self.monitor = monitor
        self.best: dict[str, float] | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        metrics = {
            name: float(value)  # one host sync per epoch, not per step
            for name, value in trainer.callback_metrics.items()
            if name.startswith("val/")
        }
        if self.best is None or metrics[self.monitor] > self.best[self.monitor]:
            self.best = {**metrics, "epoch": trainer.current_epoch}
