"""Callbacks: remember the validation metrics of the best epoch; keep the best and latest epochs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from lus_unet.errors import ConfigError
from lus_unet.run_folder import BEST_CHECKPOINT, LAST_CHECKPOINT

MONITOR = "val/dice"  # what ranks epochs, for the best checkpoint and the reported metrics


def best_checkpoint(dirpath: Path) -> ModelCheckpoint:
    """A checkpoint of the epoch with the highest ``val/dice``, ``<dirpath>/best.ckpt``.

    Args:
        dirpath: the run's checkpoint folder.
    """
    return ModelCheckpoint(dirpath=dirpath, filename=BEST_CHECKPOINT, monitor=MONITOR, mode="max")


def last_checkpoint(dirpath: Path) -> ModelCheckpoint:
    """A checkpoint of the latest epoch, ``<dirpath>/last.ckpt``, replaced every epoch.

    Lightning 2.6's ``save_last=True`` writes ``last.ckpt`` only when a top-k checkpoint is
    saved in the same step, i.e. when the monitored metric improves, so ``last.ckpt`` would be
    a copy of the best epoch and a resumed run would redo every epoch since. Without a monitor
    and with ``save_top_k=1``, a ModelCheckpoint keeps exactly the latest epoch.

    Args:
        dirpath: the run's checkpoint folder.
    """
    return ModelCheckpoint(
        dirpath=dirpath,
        filename=LAST_CHECKPOINT,
        monitor=None,
        save_top_k=1,
        enable_version_counter=False,
    )


class BestMetrics(Callback):
    """Keep every ``val/*`` metric of the epoch with the highest ``monitor`` value.

    It uses the same rule as the best checkpoint (strictly higher wins), so the metrics it
    reports are those of ``checkpoints/best.ckpt``. Metrics logged only on some epochs (HD95
    every n epochs) are reported only if that epoch logged them.

    It also keeps ``history``, the ``monitor`` value of every validation run in order (the
    sanity check excluded). Both are saved in checkpoints, so a resumed run reports the epochs
    before the interruption too.

    Args:
        monitor: the metric that ranks epochs (higher is better).
    """

    def __init__(self, monitor: str = MONITOR) -> None:
        self.monitor = monitor
        self.best: dict[str, float] | None = None
        self.history: list[float] = []

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Lightning keeps a metric's last value across epochs: drop the previous epoch's val/*
        # so that a metric this epoch does not log is not attributed to it.
        metrics = trainer.callback_metrics
        for name in [name for name in metrics if name.startswith("val/")]:
            del metrics[name]

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        metrics = {
            name: float(value)  # one host sync per epoch, not per step
            for name, value in trainer.callback_metrics.items()
            if name.startswith("val/")
        }
        self.history.append(metrics[self.monitor])
        if self.best is None or metrics[self.monitor] > self.best[self.monitor]:
            self.best = {**metrics, "epoch": trainer.current_epoch}

    def summary(self) -> dict[str, Any]:
        """The validation part of ``metrics.json``.

        Every ``val/*`` metric of the best epoch as ``val_<name>`` (``val/dice`` ->
        ``val_dice``), ``best_epoch``, and the monitored value of every validation epoch in
        order, across resumes (``epoch_val_dice``).

        Raises:
            ConfigError: no validation epoch ran.
        """
        if self.best is None:
            raise ConfigError("training ran no validation epoch; no metrics to report")
        metrics = {k.replace("/", "_"): v for k, v in self.best.items() if k.startswith("val/")}
        history = f"epoch_{self.monitor.replace('/', '_')}"
        return {**metrics, "best_epoch": self.best["epoch"], history: list(self.history)}

    def state_dict(self) -> dict[str, Any]:
        # Saved in checkpoints so that a resumed run still knows the best epoch before it.
        return {"best": self.best, "history": list(self.history)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best = state_dict["best"]
        # Checkpoints written before the history was kept hold none.
        self.history = list(state_dict.get("history", []))
