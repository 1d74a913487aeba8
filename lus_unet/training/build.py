"""Building a training run's parts from its configuration: network, data and LightningModule."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from omegaconf import DictConfig, OmegaConf
from torch import nn

from lus_unet.data.spec import spec_from_config
from lus_unet.data.splits import Split
from lus_unet.models import build_model, freeze_groups, group_counts
from lus_unet.run_fingerprint import fingerprint
from lus_unet.training.init import initialize_from, resolve_init_checkpoint
from lus_unet.training.module import SegmentationModule

log = logging.getLogger(__name__)


def build_network(cfg: DictConfig) -> tuple[nn.Module, Path | None]:
    """The configured network, initialised from ``init_from`` and with ``finetune.freeze`` frozen.

    Args:
        cfg: the run's configuration.

    Returns:
        The network, and the checkpoint it was initialised from (None: freshly initialised).

    Raises:
        ConfigError: ``init_from`` names no file (the message says how to create it).
        WeightsError: the checkpoint does not match the network (unless ``init_partial``).
    """
    # Resolved before building, so that a missing file fails before any work.
    init = resolve_init_checkpoint(cfg.init_from, cfg.init_created_by) if cfg.init_from else None
    net = build_model(**cfg.model)
    if init is not None:
        initialize_from(net, init, partial=cfg.init_partial)
    freeze_groups(net, cfg.finetune.freeze)
    return net, init


def build_datamodule(cfg: DictConfig, fold: int | None) -> L.LightningDataModule:
    """The configured data, prepared and split for training.

    Args:
        cfg: the run's configuration.
        fold: the cross-validation fold to validate on (None: the holdout split).
    """
    datamodule = hydra.utils.instantiate(cfg.data, fold=fold, seed=cfg.seed, _convert_="all")
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def run_config(cfg: DictConfig, fold: int | None) -> dict[str, Any]:
    """The resolved configuration a run stores (``config.yaml`` and every checkpoint).

    Args:
        cfg: the run's configuration.
        fold: the fold it trains (None: the holdout split), stored as ``fold``.
    """
    resolved = OmegaConf.to_container(cfg, resolve=True)
    resolved["fold"] = fold
    return resolved


def run_fingerprint(stored: dict[str, Any]) -> dict[str, Any]:
    """What defines the run about to start (:mod:`lus_unet.run_fingerprint`): its settings,
    and its data files' sizes and modification times (the embedded set: its name).

    Args:
        stored: :func:`run_config`'s result.

    Raises:
        DataError: the data folder holds no usable pairs (as loading it would).
    """
    spec = spec_from_config(stored["data"])
    if spec.root is None:
        return fingerprint(stored, {"embedded": spec.synthetic_name()})
    files = {}
    for pair in spec.read.discover(spec.root):
        for path in (pair.image, pair.mask):
            stat = path.stat()
            files[os.path.relpath(path, spec.root)] = [stat.st_size, stat.st_mtime_ns]
    return fingerprint(stored, {"files": files})


def build_module(cfg: DictConfig, net: nn.Module, stored: dict[str, Any]) -> SegmentationModule:
    """The LightningModule that trains ``net`` as configured.

    Args:
        cfg: the run's configuration.
        net: the network.
        stored: :func:`run_config`'s result, saved in every checkpoint so that the network
            and its preprocessing can be rebuilt from the checkpoint alone.
    """
    return SegmentationModule(
        net,
        loss=cfg.loss,
        lr=cfg.lr * cfg.lr_scale,
        threshold=cfg.threshold,
        image_log_every_n_epochs=cfg.image_log_every_n_epochs,
        distance_metrics_every_n_epochs=cfg.distance_metrics_every_n_epochs,
        run_config=stored,
        optimizer=stored["optimizer"],
        scheduler=stored["scheduler"],
    )


def run_metrics(
    cfg: DictConfig,
    fold: int | None,
    trainer: L.Trainer,
    best: dict[str, Any],
    split: Split,
    net: nn.Module,
    seconds: float,
) -> dict[str, Any]:
    """What a finished run writes to ``metrics.json``.

    Args:
        cfg: the run's configuration.
        fold: the fold trained (None: the holdout split).
        trainer: the Trainer, after ``fit``.
        best: the best epoch's validation metrics (:meth:`BestMetrics.summary`).
        split: the training and validation samples.
        net: the trained network.
        seconds: how long ``fit`` took.
    """
    return {
        **best,
        "epochs_run": trainer.current_epoch,
        "fold": fold,
        "n_train": len(split.train),
        "n_val": len(split.val),
        "model": cfg.model.name,
        "finetune": cfg.finetune.name,
        "stage": cfg.get("stage"),
        "init_from": cfg.init_from,
        **parameter_counts(net),
        "train_seconds": round(seconds, 2),
        "best_checkpoint": trainer.checkpoint_callback.best_model_path or None,
    }


def parameter_counts(net: nn.Module) -> dict[str, Any]:
    """The parameter counts ``metrics.json`` reports: total, trainable and total per group.

    Args:
        net: the network, with its frozen parameters marked.
    """
    counts = group_counts(net)
    return {
        "params_total": sum(c.total for c in counts),
        "params_trainable": sum(c.trainable for c in counts),
        "params_by_group": {c.name: c.total for c in counts},
    }
