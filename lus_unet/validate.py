"""Checks of a training config that run before any heavy work (data, models, training)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from lus_unet.data.augment import AUGMENTATIONS
from lus_unet.data.samples import SPLIT_MODES
from lus_unet.errors import ConfigError, DataError
from lus_unet.models import MODEL_NAMES
from lus_unet.training.losses import LOSS_NAMES
from lus_unet.training.optim import OPTIMIZER_NAMES, SCHEDULER_NAMES

DOWNSAMPLING = 16  # four 2x2 poolings


def _choice(key: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ConfigError(f"{key}={value}: unknown value; valid: {', '.join(valid)}")


def _number(key: str, value: object) -> float:
    """``value`` as a float, or a ConfigError naming ``key``."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{key}={value}: must be a number") from None


def _at_least_zero(key: str, value: object) -> float:
    number = _number(key, value)
    if not number >= 0:
        raise ConfigError(f"{key}={value}: must be >= 0")
    return number


def validate_optimization(cfg: DictConfig) -> None:
    """Check the ``optimizer``, ``scheduler`` and gradient-clipping values."""
    optimizer = cfg.get("optimizer")
    if optimizer is not None:
        _choice("optimizer.name", optimizer.name, OPTIMIZER_NAMES)
        _at_least_zero("optimizer.weight_decay", optimizer.weight_decay)
        momentum = _number("optimizer.momentum", optimizer.momentum)
        if optimizer.name == "sgd" and not 0 < momentum < 1:
            raise ConfigError(
                f"optimizer.momentum={optimizer.momentum}: must be between 0 and 1, exclusive "
                "(SGD's Nesterov momentum)"
            )
    scheduler = cfg.get("scheduler")
    if scheduler is not None:
        _choice("scheduler.name", scheduler.name, SCHEDULER_NAMES)
        _at_least_zero("scheduler.warmup_epochs", scheduler.warmup_epochs)
        if not 0 <= _number("scheduler.min_lr_ratio", scheduler.min_lr_ratio) <= 1:
            raise ConfigError(
                f"scheduler.min_lr_ratio={scheduler.min_lr_ratio}: must be between 0 and 1"
            )
        if not _number("scheduler.power", scheduler.power) > 0:
            raise ConfigError(f"scheduler.power={scheduler.power}: must be positive")
    trainer = cfg.get("trainer") or {}
    if trainer.get("gradient_clip_val") is not None:
        _at_least_zero("trainer.gradient_clip_val", trainer.gradient_clip_val)
    if trainer.get("gradient_clip_algorithm") is not None:
        _choice(
            "trainer.gradient_clip_algorithm", trainer.gradient_clip_algorithm, ("norm", "value")
        )


def validate_train_config(cfg: DictConfig) -> None:
    """Raise a one-line ConfigError/DataError for the first invalid value found."""
    _choice("model.name", cfg.model.name, MODEL_NAMES)
    _choice("loss", cfg.loss, LOSS_NAMES)
    if "augment" in cfg.data:
        _choice("data.augment", cfg.data.augment, AUGMENTATIONS)
    if "split" in cfg.data:
        _choice("data.split", cfg.data.split, SPLIT_MODES)
    size = list(cfg.data.image_size)
    if len(size) != 2 or any(int(s) <= 0 or int(s) % DOWNSAMPLING for s in size):
        raise ConfigError(
            f"data.image_size={size}: needs [height, width], each a positive multiple of "
            f"{DOWNSAMPLING} (the networks down-sample four times by 2)"
        )
    if int(cfg.data.batch_size) < 1:
        raise ConfigError(f"data.batch_size={cfg.data.batch_size}: must be at least 1")
    for key in ("lr", "lr_scale"):
        if not float(cfg[key]) > 0:
            raise ConfigError(f"{key}={cfg[key]}: must be positive")
    if not 0 < float(cfg.threshold) < 1:
        raise ConfigError(f"threshold={cfg.threshold}: must be between 0 and 1")
    validate_optimization(cfg)
    root = cfg.data.get("root")
    if root is not None and not Path(str(root)).expanduser().is_dir():
        raise DataError(root, "data folder does not exist (data.root)")
