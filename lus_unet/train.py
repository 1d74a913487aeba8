"""Train a U-Net: ``python -m lus_unet.train [overrides]`` (see README for the fold forms)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from lus_unet.config.train import check_train_config
from lus_unet.cv import write_cv_summary
from lus_unet.errors import LusUnetError
from lus_unet.folds import fold_config, is_fold_range, parse_fold_spec
from lus_unet.run_folder import RunFolder
from lus_unet.sweep import record_job_status
from lus_unet.training.build import (
    build_datamodule,
    build_module,
    build_network,
    run_config,
    run_fingerprint,
    run_metrics,
)
from lus_unet.training.init import check_no_validation_leak
from lus_unet.training.resume import check_range_resume
from lus_unet.training.stages import run_stages, stage_names
from lus_unet.training.trainer import build_trainer, is_main_process
from lus_unet.utils import CONFIG_DIR, exit_on_user_error

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train as configured and return the run's metrics (the CV summary for a fold range)."""
    check_train_config(cfg)
    folds = parse_fold_spec(cfg.get("fold"), cfg.data.n_folds)
    folder = RunFolder(Path(cfg.paths.output_dir), writer=is_main_process())
    if folds is not None and is_fold_range(cfg.fold):
        return cross_validate(cfg, folds, folder)
    return fit_stages(cfg, None if folds is None else folds[0], folder)


def fit_stages(cfg: DictConfig, fold: int | None, folder: RunFolder) -> dict[str, Any]:
    """Train every stage of the run's protocol on one split (one stage: :func:`fit`)."""
    if stage_names(cfg):
        return run_stages(cfg, fold, folder, fit)
    return fit(cfg, fold, folder)


def cross_validate(cfg: DictConfig, folds: list[int], folder: RunFolder) -> dict[str, Any]:
    """Train each fold in its ``fold_<k>`` folder (a resumed range keeps finished folds)."""
    log.info("Cross-validation over folds %s in %s", folds, folder.path)
    with folder.locked():
        if cfg.resume:
            check_range_resume(cfg, folds, folder)
        results = []
        for k in folds:
            fold = folder.fold(k)
            if cfg.resume and fold.finished:
                log.info("Fold in %s already finished; keeping it", fold.path)
                results.append(fold.read_metrics())
            else:
                # A resumed range continues the folds it reached and starts the others afresh.
                resume = bool(cfg.resume) and fold.reached
                results.append(fit_stages(fold_config(cfg, k, resume), k, fold))
        return write_cv_summary(folder, results)


def fit(cfg: DictConfig, fold: int | None, folder: RunFolder) -> dict[str, Any]:
    """Train one model on one split and write its run folder; returns ``metrics.json``'s data."""
    stored = run_config(cfg, fold)
    with folder.locked():
        fingerprint = run_fingerprint(stored)
        resume_from = folder.start(cfg.resume, fingerprint)
        L.seed_everything(cfg.seed, workers=True)
        net, init_checkpoint = build_network(cfg)
        datamodule = build_datamodule(cfg, fold)
        split = datamodule.split_info()
        overlap = check_no_validation_leak(
            init_checkpoint, split["val"], cfg.init_allow_val_overlap, cfg.data._target_
        )
        folder.write_fingerprint(fingerprint)  # first: a started run always has one
        folder.write_split(split)
        folder.write_config(stored)
        trainer, best = build_trainer(cfg, folder, fold)
        started = time.perf_counter()
        trainer.fit(build_module(cfg, net, stored), datamodule=datamodule, ckpt_path=resume_from)
        seconds = time.perf_counter() - started
        metrics = run_metrics(cfg, fold, trainer, best.summary(), datamodule.split, net, seconds)
        metrics["init_val_overlap"] = len(overlap)
        folder.write_metrics(metrics)
    dice, epoch = metrics["val_dice"], metrics["best_epoch"]
    log.info("Fold %s: val Dice %.4f at epoch %d -> %s", fold, dice, epoch, folder.path)
    return metrics


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def main(cfg: DictConfig) -> None:
    """Command-line entry point. In a multirun a failing job does not stop the sweep: it is
    logged and recorded in ``job_status.json``, and :class:`~lus_unet.sweep.SweepSummary`
    fails the sweep at the end."""
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
