"""Train a U-Net: ``python -m lus_unet.train [overrides]`` (see README for the fold forms)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig, OmegaConf, open_dict

from lus_unet.cv import write_cv_summary
from lus_unet.errors import ConfigError, LusUnetError
from lus_unet.folds import is_fold_range, parse_fold_spec
from lus_unet.models import build_model, freeze_groups, group_counts
from lus_unet.sweep import record_job_status
from lus_unet.training.callbacks import BestMetrics, last_checkpoint
from lus_unet.training.init import (
    init_validation_overlap,
    initialize_from,
    resolve_init_checkpoint,
)
from lus_unet.training.module import SegmentationModule
from lus_unet.training.optim import uses_scheduler
from lus_unet.training.performance import PerformanceCallback
from lus_unet.training.rng import RNGStateCheckpoint
from lus_unet.utils import CONFIG_DIR, exit_on_user_error, write_json_atomic, write_text_atomic
from lus_unet.validate import validate_train_config

log = logging.getLogger(__name__)

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
    "seed",
)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train as configured and return the run's metrics (the CV summary for a fold range)."""
    validate_train_config(cfg)
    fold_spec = cfg.get("fold")
    folds = parse_fold_spec(fold_spec, cfg.data.n_folds)
    run_dir = Path(cfg.paths.output_dir)
    if folds is not None and is_fold_range(fold_spec):
        log.info("Cross-validation over folds %s in %s", folds, run_dir)
        fold_dirs = {fold: run_dir / f"fold_{fold}" for fold in folds}
        if cfg.resume and not any(folder.exists() for folder in fold_dirs.values()):
            raise ConfigError(f"resume=true: nothing to resume in {run_dir} (no fold_<k> folder)")
        results = [
            finished_metrics(fold_dirs[fold], cfg.resume)
            or fit(config_for_fold(cfg, fold, fold_dirs[fold]), fold, fold_dirs[fold])
            for fold in folds
        ]
        summary = write_cv_summary(run_dir, results)
        log.info(
            "Cross-validation: highest Dice %.4f (fold %d), mean %.4f +- %.4f",
            summary["highest"],
            summary["highest_fold"],
            summary["mean"],
            summary["std"],
        )
        return summary
    return fit(cfg, None if folds is None else folds[0], run_dir)


def config_for_fold(cfg: DictConfig, fold: int, fold_dir: Path) -> DictConfig:
    """A copy of ``cfg`` for one fold of a range.

    ``fold`` is set, so fold-dependent values (``init_from``) resolve. A resumed range resumes
    the folds it had reached and starts the others afresh, instead of finding nothing to resume.

    Args:
        cfg: the range's configuration.
        fold: the fold.
        fold_dir: the fold's run folder.
    """
    fold_cfg = cfg.copy()
    with open_dict(fold_cfg):
        fold_cfg.fold = fold
        # A DDP worker starts once rank 0 has created the folder: only a checkpoint, which
        # cannot be written before the worker joins, tells it whether rank 0 resumed.
        last = fold_dir / "checkpoints" / "last.ckpt"
        reached = fold_dir.exists() if is_main_process() else last.is_file()
        fold_cfg.resume = bool(cfg.resume) and reached
    return fold_cfg


def finished_metrics(run_dir: Path, resume: bool) -> dict[str, Any] | None:
    """A resumed fold range keeps its finished folds: their metrics, else None."""
    metrics_file = run_dir / "metrics.json"
    if resume and metrics_file.is_file():
        log.info("Fold in %s already finished; keeping it", run_dir)
        return json.loads(metrics_file.read_text())
    return None


def resume_checkpoint(run_dir: Path, resume: bool) -> Path | None:
    """The checkpoint to resume from, after checking the run folder may be written to.

    A folder never receives a second run: a finished run is refused outright, an interrupted
    one (split or checkpoints present) only continues with ``resume=true``.
    """
    last = run_dir / "checkpoints" / "last.ckpt"
    if not is_main_process():
        # A DDP worker starts inside rank 0's trainer.fit, after rank 0 checked this folder
        # and wrote split.json: it follows rank 0 instead of refusing a started folder.
        return last if resume else None
    if (run_dir / "metrics.json").exists():
        raise ConfigError(f"{run_dir} already holds a finished run; refusing to overwrite it")
    started = (run_dir / "split.json").exists() or (run_dir / "checkpoints").exists()
    if resume:
        if not last.is_file():
            raise ConfigError(f"resume=true: no checkpoint to resume from at {last}")
        log.info("Resuming from %s", last)
        return last
    if started:
        raise ConfigError(
            f"{run_dir} holds an interrupted run; continue it with resume=true, "
            "or choose another folder (hydra.run.dir)"
        )
    return None


def is_main_process() -> bool:
    """Whether this is global rank 0, the process that writes the run's files.

    DDP workers know their rank from the environment (LOCAL_RANK, RANK, SLURM_PROCID) before
    any Trainer exists; a single-process run is rank 0.
    """
    return rank_zero_only.rank == 0


def check_no_validation_leak(checkpoint: Path, val_ids: list[str], allowed: bool) -> None:
    """Refuse an init checkpoint that trained on this run's validation samples, unless allowed."""
    overlap = init_validation_overlap(checkpoint, val_ids)
    if not overlap:
        return
    message = (
        f"init_from: {checkpoint} was trained on {len(overlap)} of this run's {len(val_ids)} "
        f"validation samples (e.g. {', '.join(overlap[:3])}), which would inflate its Dice. "
        "Initialise from the transfer-learning run of the same fold, or set "
        "init_allow_val_overlap=true to accept the leak (as the paper's protocol does)"
    )
    if not allowed:
        raise ConfigError(message)
    log.warning("%s", message)


def fit(cfg: DictConfig, fold: int | None, run_dir: Path) -> dict[str, Any]:
    """Train one model on one split and write its run folder; returns ``metrics.json``'s data."""
    resume_from = resume_checkpoint(run_dir, cfg.resume)
    run_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(cfg.seed, workers=True)

    init_checkpoint = (
        resolve_init_checkpoint(cfg.init_from, cfg.init_created_by) if cfg.init_from else None
    )
    net = build_model(**cfg.model)
    if init_checkpoint is not None:
        initialize_from(net, init_checkpoint, partial=cfg.init_partial)
    freeze_groups(net, cfg.finetune.freeze)
    datamodule = hydra.utils.instantiate(cfg.data, fold=fold, seed=cfg.seed, _convert_="all")
    datamodule.prepare_data()
    datamodule.setup("fit")
    split = datamodule.split_info()
    if init_checkpoint is not None:
        check_no_validation_leak(init_checkpoint, split["val"], cfg.init_allow_val_overlap)
    run_config = OmegaConf.to_container(cfg, resolve=True)
    run_config["fold"] = fold
    if is_main_process():
        write_json_atomic(run_dir / "split.json", split)
        write_text_atomic(run_dir / "config.yaml", OmegaConf.to_yaml(run_config))
    module = SegmentationModule(
        net,
        loss=cfg.loss,
        lr=cfg.lr * cfg.lr_scale,
        threshold=cfg.threshold,
        image_log_every_n_epochs=cfg.image_log_every_n_epochs,
        distance_metrics_every_n_epochs=cfg.distance_metrics_every_n_epochs,
        run_config=run_config,
        optimizer=run_config["optimizer"],
        scheduler=run_config["scheduler"],
    )
    logger = TensorBoardLogger(run_dir, name="tensorboard", version="", default_hp_metric=False)
    hparams = {axis: OmegaConf.select(cfg, axis) for axis in HPARAM_AXES}
    logger.log_hyperparams({**hparams, "fold": -1 if fold is None else fold}, {"val/dice": 0.0})
    best = BestMetrics(monitor="val/dice")
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="best",
        monitor="val/dice",
        mode="max",
    )
    trainer_args = OmegaConf.to_container(cfg.trainer, resolve=True)
    # Not a Trainer argument: channels_last and compilation (conf/trainer/gpu.yaml).
    performance = trainer_args.pop("performance", None)
    callbacks = [checkpoint, last_checkpoint(checkpoint.dirpath), best, RNGStateCheckpoint()]
    if performance is not None:
        callbacks.append(PerformanceCallback(**performance))
    if uses_scheduler(**run_config["scheduler"]):
        # Under the scheduler's name, train/lr, every log_every_n_steps steps.
        callbacks.append(LearningRateMonitor(logging_interval="step"))
    trainer = L.Trainer(
        **trainer_args, default_root_dir=run_dir, logger=logger, callbacks=callbacks
    )
    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume_from)
    if best.best is None:
        raise ConfigError("training ran no validation epoch; no metrics to report")

    counts = {group.name: group for group in group_counts(net)}
    # Every val/* metric of the best epoch, as val_<name> (val/dice -> val_dice).
    best_metrics = {k.replace("/", "_"): v for k, v in best.best.items() if k.startswith("val/")}
    metrics = {
        **best_metrics,
        "best_epoch": best.best["epoch"],
        # val/dice of every validation epoch, in order, across resumes.
        "epoch_val_dice": best.history,
        "epochs_run": trainer.current_epoch,
        "fold": fold,
        "n_train": len(datamodule.split.train),
        "n_val": len(datamodule.split.val),
        "model": cfg.model.name,
        "finetune": cfg.finetune.name,
        "params_total": sum(c.total for c in counts.values()),
        "params_trainable": sum(c.trainable for c in counts.values()),
        "params_by_group": {name: c.total for name, c in counts.items()},
        "train_seconds": round(time.perf_counter() - started, 2),
        "best_checkpoint": checkpoint.best_model_path or None,
    }
    if trainer.is_global_zero:
        write_json_atomic(run_dir / "metrics.json", metrics)
    log.info(
        "Fold %s: val Dice %.4f at epoch %d -> %s",
        fold,
        metrics["val_dice"],
        metrics["best_epoch"],
        run_dir,
    )
    return metrics


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def main(cfg: DictConfig) -> None:
    """Command-line entry point.

    In a multirun a failing job must not stop the sweep: its error is logged and recorded in
    ``job_status.json``, and :class:`~lus_unet.sweep.SweepSummary` fails the sweep at the end.
    """
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode != RunMode.MULTIRUN:
        with exit_on_user_error():
            train(cfg)
        return
    job_dir, overrides = Path(hydra_cfg.runtime.output_dir), list(hydra_cfg.overrides.task)
    try:
        train(cfg)
    except Exception as error:
        if isinstance(error, LusUnetError):
            log.error("%s", error)
        else:
            log.exception("Job crashed")
        record_job_status(job_dir, overrides, error)
    else:
        record_job_status(job_dir, overrides, None)


if __name__ == "__main__":
    main()
