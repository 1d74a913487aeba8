"""Train one entry of a comparison fold by fold, through the very ``train`` that users run."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf

from lus_unet.errors import ConfigError
from lus_unet.run_folder import RunFolder
from lus_unet.train import train
from lus_unet.training.stages import stage_names
from lus_unet.utils import CONFIG_DIR

log = logging.getLogger(__name__)


def budget_overrides(budget: DictConfig) -> list[str]:
    """The train overrides that give every entry the same epochs, batch and frame size, and
    the same selection: the best epoch by validation Dice, the comparison's score."""
    height, width = (int(s) for s in budget.image_size)
    return [
        "checkpoint.monitor=val/dice",
        f"trainer.max_epochs={int(budget.epochs)}",
        f"data.batch_size={int(budget.batch_size)}",
        f"data.image_size=[{height},{width}]",
    ]


def compose_train(overrides: Sequence[str]) -> DictConfig:
    """``conf/train.yaml`` composed with ``overrides``, inside or outside a running Hydra app."""
    if GlobalHydra.instance().is_initialized():
        return compose("train", overrides=list(overrides))
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("train", overrides=list(overrides))


def fold_config(cfg: DictConfig, overlay: Sequence[str], fold: int, fold_dir: Path) -> DictConfig:
    """The train config of one entry's fold: its overlay, then what every entry shares.

    The shared overrides (``common``, ``extra``, the budget, the seed) come last so that an
    overlay cannot change them.
    """
    overrides = [
        *overlay,
        *cfg.common,
        *cfg.extra,
        *budget_overrides(cfg.budget),
        f"seed={int(cfg.seed)}",
        f"+fold={int(fold)}",
        f"paths.output_dir={fold_dir}",
        f"paths.cache_dir={cfg.paths.cache_dir}",
    ]
    try:
        return compose_train(overrides)
    except Exception as error:  # Hydra's own errors name the bad override; keep them one line
        raise ConfigError(f"compare: entry overrides {list(overlay)}: {error}") from error


def run_fold(train_cfg: DictConfig, fold_dir: Path, resume: bool) -> dict[str, Any]:
    """Train one fold (or keep it, when resuming a comparison) and return its metrics."""
    folder = RunFolder(fold_dir)
    if stage_names(train_cfg):
        # train's own resume keeps finished stages and checks the others' settings and data.
        train_cfg.resume = bool(resume and folder.path.exists())
        return train(train_cfg)
    if resume and folder.finished:
        fresh = OmegaConf.to_container(train_cfg, resolve=True)
        fresh["fold"] = train_cfg.fold
        if folder.read_config() != fresh:
            raise ConfigError(
                f"compare resume=true: {fold_dir} was trained with another configuration; "
                "resume with the same settings, or start a new comparison (another hydra.run.dir)"
            )
        log.info("Keeping finished fold %s", fold_dir)
        return folder.read_metrics()
    train_cfg.resume = bool(resume and folder.last_checkpoint.is_file())
    return train(train_cfg)


def run_entry(cfg: DictConfig, name: str, overlay: Sequence[str], entry_dir: Path) -> list[dict]:
    """Train entry ``name`` on every fold of ``cfg.folds``; returns the per-fold metrics."""
    results = []
    for fold in cfg.folds:
        fold_dir = RunFolder(entry_dir).fold(int(fold)).path
        log.info("compare: entry %s, fold %d -> %s", name, int(fold), fold_dir)
        results.append(
            run_fold(fold_config(cfg, overlay, int(fold), fold_dir), fold_dir, cfg.resume)
        )
    return results
