"""Callbacks: remember the validation metrics of the best epoch; keep the best and latest epochs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from lus_unet.errors import ConfigError
from lus_unet.run_folder import BEST_CHECKPOINT, LAST_CHECKPOINT

# ``checkpoint.monitor``: the metric that ranks epochs, for ``best.ckpt`` and the metrics a run
# reports, and whether lower (min) or higher (max) is better. The authors' code kept the epoch
# of lowest validation loss (the paper recipe's choice); Dice ranks by what is reported.
MONITOR_MODES: dict[str, str] = {"val/loss": "min", "val/dice": "max"}
DICE = "val/dice"  # always kept per epoch (metrics.json's epoch_val_dice), whatever ranks epochs


def best_checkpoint(dirpath: Path, monitor: str = DICE) -> ModelCheckpoint:
    """A checkpoint of the best epoch by ``monitor``, ``<dirpath>/best.ckpt``.

    Args:
        dirpath: the run's checkpoint folder.
        monitor: a key of :data:`MONITOR_MODES` (checked by the config schema).
    """
    return ModelCheckpoint(
        dirpath=dirpath, filename=BEST_CHECKPOINT, monitor=monitor, mode=MONITOR_MODES[monitor]
    )


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
    """Keep every ``val/*`` metric of the best epoch by ``monitor``.

    It uses the same rule as the best checkpoint (a strictly better value wins; NaN ranks
    last, as ModelCheckpoint ranks it), so the metrics it reports are those of
    ``checkpoints/best.ckpt``. Metrics
    logged only on some epochs (HD95 every n epochs) are reported only if that epoch logged
    them.

    It also keeps ``history``: the validation Dice of every validation run in order (the sanity
    check excluded), and the monitored metric's when that is another. Both are saved in
    checkpoints, so a resumed run reports the epochs before the interruption too.

    Args:
        monitor: the metric that ranks epochs, a key of :data:`MONITOR_MODES`.
    """

    def __init__(self, monitor: str = DICE) -> None:
        self.monitor = monitor
        self.mode = MONITOR_MODES[monitor]
        self.best: dict[str, float] | None = None
        self.history: dict[str, list[float]] = {name: [] for name in dict.fromkeys((DICE, monitor))}

    def _score(self, value: float) -> float:
        """``value`` as ModelCheckpoint ranks it: NaN as the worst value of the mode."""
        if math.isnan(value):
            return math.inf if self.mode == "min" else -math.inf
        return value

    def _better(self, value: float) -> bool:
        """Whether ``value`` beats the best epoch so far (as ModelCheckpoint decides it)."""
        if self.best is None:
            return True  # ModelCheckpoint saves the first epoch whatever its value
        value, best = self._score(value), self._score(self.best[self.monitor])
        return value < best if self.mode == "min" else value > best

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
        for name, values in self.history.items():
            values.append(metrics.get(name, math.nan))
        if self._better(metrics[self.monitor]):
            self.best = {**metrics, "epoch": trainer.current_epoch}

    def summary(self) -> dict[str, Any]:
        """The validation part of ``metrics.json``.

        Every ``val/*`` metric of the best epoch as ``val_<name>`` (``val/dice`` ->
        ``val_dice``), ``best_epoch``, ``monitor`` and ``monitor_mode`` (what chose it), and
        per validation epoch in order, across resumes, the Dice (``epoch_val_dice``) and the
        monitored metric (``epoch_val_loss`` when it ranks epochs).

        Raises:
            ConfigError: no validation epoch ran.
        """
        if self.best is None:
            raise ConfigError("training ran no validation epoch; no metrics to report")
        metrics = {k.replace("/", "_"): v for k, v in self.best.items() if k.startswith("val/")}
        history = {f"epoch_{k.replace('/', '_')}": list(v) for k, v in self.history.items()}
        return {
            **metrics,
            "best_epoch": self.best["epoch"],
            "monitor": self.monitor,
            "monitor_mode": self.mode,
            **history,
        }

    def state_dict(self) -> dict[str, Any]:
        # Saved in checkpoints so that a resumed run still knows the best epoch before it.
        return {"best": self.best, "history": {k: list(v) for k, v in self.history.items()}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best = state_dict["best"]
        history = state_dict.get("history", {})
        if isinstance(history, list):  # written before the monitor was configurable: Dice
            history = {DICE: history}
        # Checkpoints written before the history was kept hold none.
        self.history = {name: list(history.get(name, [])) for name in self.history}
