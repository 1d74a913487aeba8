"""The ``fold`` command-line value: absent, one fold, or an inclusive range ``a..b``."""

from __future__ import annotations

import re
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from lus_unet.errors import ConfigError
from lus_unet.run_folder import FOLD_PREFIX

_RANGE = re.compile(r"^\s*(\d+)\s*\.\.\s*(\d+)\s*$")


def parse_fold_spec(value: Any, n_folds: int) -> list[int] | None:
    """Folds to run: None = one holdout split; an int = that fold; ``"a..b"`` = a to b inclusive.

    Args:
        value: the ``fold`` config value (absent = None).
        n_folds: number of folds of the cross-validation (``data.n_folds``).

    Raises:
        ConfigError: for anything else, or a fold outside ``0..n_folds-1``.
    """
    if value is None:
        return None
    valid = f"valid: an integer 0..{n_folds - 1} or a range like 0..{n_folds - 1}"
    if isinstance(value, bool):
        raise ConfigError(f"fold={value}: not a fold; {valid}")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        folds = [int(value)]
    elif isinstance(value, str) and (match := _RANGE.match(value)):
        first, last = int(match[1]), int(match[2])
        if first > last:
            raise ConfigError(f"fold={value}: empty range (start > end); {valid}")
        folds = list(range(first, last + 1))
    else:
        raise ConfigError(f"fold={value}: not a fold; {valid}")
    outside = [f for f in folds if not 0 <= f < n_folds]
    if outside:
        raise ConfigError(
            f"fold={value}: fold {outside[0]} does not exist with data.n_folds={n_folds}; {valid}"
        )
    return folds


def is_fold_range(value: Any) -> bool:
    """Whether ``value`` is a range spec (``a..b``) rather than a single fold."""
    return isinstance(value, str) and _RANGE.match(value) is not None


def range_folds(value: Any) -> list[int]:
    """The folds of a range spec ``a..b`` (a to b inclusive), unchecked; [] for anything else.

    Args:
        value: a ``fold`` value, e.g. as a fold-range run recorded it.
    """
    match = _RANGE.match(value) if isinstance(value, str) else None
    return list(range(int(match[1]), int(match[2]) + 1)) if match else []


def fold_config(cfg: DictConfig, fold: int, resume: bool) -> DictConfig:
    """A copy of a fold range's ``cfg`` for one of its folds.

    ``fold`` is set, so fold-dependent values (``init_from``) resolve.

    Args:
        cfg: the range's configuration.
        fold: the fold.
        resume: whether this fold continues an interrupted run.
    """
    fold_cfg = cfg.copy()
    with open_dict(fold_cfg):
        fold_cfg.fold = fold
        fold_cfg.resume = resume
    return fold_cfg


def fold_dir(value: Any) -> str:
    """Run sub-folder of a fold spec: ``holdout``, ``fold_<k>``, or ``.`` for a range.

    A range run keeps its folds in ``fold_<k>`` sub-folders of its own folder, so a range run
    and a one-job-per-fold sweep lay out their folds identically.
    """
    if value is None:
        return "holdout"
    return "." if is_fold_range(value) else f"{FOLD_PREFIX}{value}"


def fold_arg(value: Any) -> str:
    """The command-line argument that selects a fold spec (empty for none)."""
    return "" if value is None else f"+fold={value}"


# Config interpolations used by the paper's stage presets to place and find runs.
OmegaConf.register_new_resolver("fold_dir", fold_dir, replace=True)
OmegaConf.register_new_resolver("fold_arg", fold_arg, replace=True)
