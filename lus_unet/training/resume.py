"""What a resumed cross-validation range checks before any of its folds trains."""

from __future__ import annotations

from omegaconf import DictConfig

from lus_unet.errors import ConfigError
from lus_unet.folds import fold_config
from lus_unet.run_folder import RunFolder
from lus_unet.training.build import run_config, run_fingerprint


def check_range_resume(cfg: DictConfig, folds: list[int], folder: RunFolder) -> None:
    """Refuse ``resume=true`` on a range folder that holds none of its folds, or one whose
    folds, finished or not, were trained with other settings or data.

    Every fold is checked before the first one trains, so a refused resume changes nothing,
    and finished folds are never mixed with folds of other settings in one summary.

    Args:
        cfg: the range's configuration.
        folds: the folds of the range.
        folder: the cross-validation folder.

    Raises:
        ConfigError: nothing to resume, or the changed keys of the first fold that differs.
    """
    reached = [k for k in folds if folder.fold(k).path.exists()]
    if not reached:
        raise ConfigError(f"resume=true: nothing to resume in {folder.path} (no fold_<k> folder)")
    if not folder.writer:
        return  # rank 0 checked before this worker started
    for k in reached:
        current = run_fingerprint(run_config(fold_config(cfg, k, resume=True), k))
        folder.fold(k).check_same_run(current)
