"""Checks of a training config that run before any heavy work (data, models, training)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from lus_unet.data.augment import AUGMENTATIONS
from lus_unet.data.samples import SPLIT_MODES
from lus_unet.errors import ConfigError, DataError
from lus_unet.models import MODEL_NAMES
from lus_unet.training.losses import LOSS_NAMES

DOWNSAMPLING = 16  # four 2x2 poolings


def _choice(key: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ConfigError(f"{key}={value}: unknown value; valid: {', '.join(valid)}")


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
    root = cfg.data.get("root")
    if root is not None and not Path(str(root)).expanduser().is_dir():
        raise DataError(root, "data folder does not exist (data.root)")
