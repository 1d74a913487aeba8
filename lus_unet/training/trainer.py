"""The Lightning Trainer of one run: its TensorBoard logger and callbacks, in the run folder."""

from __future__ import annotations

import lightning as L
from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch.callbacks import EMAWeightAveraging, LearningRateMonitor
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf

from lus_unet.run_folder import TENSORBOARD_DIR, RunFolder
from lus_unet.training.callbacks import DICE, BestMetrics, best_checkpoint, last_checkpoint
from lus_unet.training.epoch_log import EpochLogLine, stdout_is_terminal
from lus_unet.training.optim import uses_scheduler
from lus_unet.training.performance import PerformanceCallback
from lus_unet.training.rng import RNGStateCheckpoint

# The axes a sweep varies, shown against val/dice in TensorBoard's hparams view. A key that
# a config lacks is logged as None.
HPARAM_AXES = (
    "task_name",
    "recipe.name",
    "data_size",
    "model.name",
    "model.norm",
    "model.activation",
    "model.encoder",
    "finetune.name",
    "data.split",
    "data.augment",
    "loss",
    "lr",
    "optimizer.name",
    "optimizer.weight_decay",
    "scheduler.name",
    "scheduler.warmup_epochs",
    "trainer.gradient_clip_val",
    "ema_decay",
    "checkpoint.monitor",
    "seed",
)


def is_main_process() -> bool:
    """Whether this is global rank 0, the process that writes the run's files.

    The one rank test of a run. DDP workers know their rank from the environment
    (LOCAL_RANK, RANK, SLURM_PROCID) before any Trainer exists; a single process is rank 0.
    """
    return rank_zero_only.rank == 0


def tensorboard_logger(cfg: DictConfig, folder: RunFolder, fold: int | None) -> TensorBoardLogger:
    """A TensorBoard logger in ``<run>/tensorboard`` with the sweep axes as hyperparameters.

    Args:
        cfg: the run's configuration.
        folder: the run folder.
        fold: the fold trained (None: holdout, logged as -1).
    """
    logger = TensorBoardLogger(
        folder.path, name=TENSORBOARD_DIR, version="", default_hp_metric=False
    )
    hparams = {axis: OmegaConf.select(cfg, axis) for axis in HPARAM_AXES}
    logger.log_hyperparams({**hparams, "fold": -1 if fold is None else fold}, {DICE: 0.0})
    return logger


def build_trainer(
    cfg: DictConfig, folder: RunFolder, fold: int | None
) -> tuple[L.Trainer, BestMetrics]:
    """The configured Trainer, writing checkpoints and logs into ``folder``.

    Args:
        cfg: the run's configuration (``trainer`` holds the Trainer's arguments).
        folder: the run folder.
        fold: the fold trained (None: holdout).

    Returns:
        The Trainer (its ``checkpoint_callback`` keeps ``best.ckpt``), and the callback that
        keeps the best epoch's validation metrics.
    """
    trainer_args = OmegaConf.to_container(cfg.trainer, resolve=True)
    # Not Trainer arguments: channels_last and compilation (train.yaml's `performance`).
    performance = cfg.get("performance")
    # checkpoint.monitor ranks epochs for both, so metrics.json describes best.ckpt.
    monitor = cfg.checkpoint.monitor
    best = BestMetrics(monitor)
    callbacks = [
        best_checkpoint(folder.checkpoint_dir, monitor),  # first: the checkpoint_callback
        last_checkpoint(folder.checkpoint_dir),
        best,
        RNGStateCheckpoint(),
    ]
    if performance is not None:
        callbacks.append(PerformanceCallback(**performance))
    if cfg.ema_decay > 0:
        # Validates, selects and saves the averaged weights; the raw ones stay in
        # the checkpoint's current_model_state, so resume continues both.
        callbacks.append(EMAWeightAveraging(decay=cfg.ema_decay))
    if uses_scheduler(**OmegaConf.to_container(cfg.scheduler, resolve=True)):
        # Under the scheduler's name, train/lr, every log_every_n_steps steps.
        callbacks.append(LearningRateMonitor(logging_interval="step"))
    if not stdout_is_terminal():
        # A batch job's log: one line per epoch, not a bar redrawn at every step.
        trainer_args["enable_progress_bar"] = False
        callbacks.append(EpochLogLine())
    trainer = L.Trainer(
        **trainer_args,
        default_root_dir=folder.path,
        logger=tensorboard_logger(cfg, folder, fold),
        callbacks=callbacks,
    )
    return trainer, best
