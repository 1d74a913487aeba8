"""The folds of a cross-validation folder that an ensemble may use: only finished ones.

A fold range killed part-way leaves finished folds, an unfinished one (a ``best.ckpt`` of
the epochs it reached, no ``metrics.json``) and folds it never started. Those checkpoints are
not the ensemble that was asked for, so such a folder is refused unless ``allow_partial=true``,
and even then only its finished folds are used. The folds a folder should hold are those
present, those its ``cv_summary.json`` lists and the range its Hydra record (``.hydra/``,
written by ``python -m lus_unet.train +fold=a..b``) asked for.
"""

from __future__ import annotations

import json
import logging
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from lus_unet.errors import ConfigError
from lus_unet.folds import range_folds
from lus_unet.run_folder import BEST_CHECKPOINT_PATH, CV_SUMMARY_FILE, FOLD_PREFIX, RunFolder

log = logging.getLogger(__name__)

# Hydra's record of the command that made a run folder (its composed config and overrides).
HYDRA_CONFIG = Path(".hydra") / "config.yaml"
HYDRA_OVERRIDES = Path(".hydra") / "overrides.yaml"


@dataclass(frozen=True)
class FoldState:
    """The folds a cross-validation folder should hold, by how far each got.

    Attributes:
        expected: every fold the folder should hold, in order.
        finished: folds with ``metrics.json`` and ``checkpoints/best.ckpt``: usable.
        unfinished: folds started but without ``metrics.json``.
        without_checkpoint: finished folds whose ``checkpoints/best.ckpt`` is gone.
        missing: expected folds without a ``fold_<k>`` folder.
    """

    expected: list[int]
    finished: list[int]
    unfinished: list[int]
    without_checkpoint: list[int]
    missing: list[int]

    @property
    def complete(self) -> bool:
        """Whether every expected fold is usable."""
        return self.finished == self.expected

    def problems(self) -> str:
        """What keeps the folder from being complete, e.g. ``fold_1 unfinished ...``."""
        parts = [
            (self.unfinished, "unfinished (no metrics.json)"),
            (self.without_checkpoint, f"without {BEST_CHECKPOINT_PATH}"),
            (self.missing, "missing"),
        ]
        return "; ".join(f"{_names(folds)} {what}" for folds, what in parts if folds)


def fold_state(folder: RunFolder) -> FoldState:
    """Which of a cross-validation folder's folds finished (nothing expected: no CV folder).

    Args:
        folder: the cross-validation folder.
    """
    present = {k: fold.final for k, fold in folder.folds().items()}
    expected = sorted({*present, *_summary_folds(folder), *_recorded_range(folder)})
    done = [k for k in expected if k in present and present[k].finished]
    return FoldState(
        expected=expected,
        finished=[k for k in done if present[k].best_checkpoint.is_file()],
        unfinished=[k for k in expected if k in present and k not in done],
        without_checkpoint=[k for k in done if not present[k].best_checkpoint.is_file()],
        missing=[k for k in expected if k not in present],
    )


def finished_fold_checkpoints(folder: RunFolder, allow_partial: bool) -> list[Path]:
    """The best checkpoints of a cross-validation folder's folds, all of them finished.

    Args:
        folder: the folder; [] when it holds no folds and expects none (no CV folder).
        allow_partial: use the finished folds of a partial folder, with a warning.

    Raises:
        ConfigError: some folds are missing or unfinished (without ``allow_partial``), or
            none finished; the message names them and says how to finish them.
    """
    state = fold_state(folder)
    if not state.expected:
        return []
    if not state.complete:
        finish = f"finish them with `{_finish_command(folder)}`"
        if not state.finished:
            raise ConfigError(
                f"checkpoint: {folder.path} holds no finished fold ({state.problems()}); {finish}"
            )
        if not allow_partial:
            raise ConfigError(
                f"checkpoint: {folder.path} is a partial cross-validation run "
                f"({state.problems()}); {finish}, or pass allow_partial=true to use only "
                f"the finished {_names(state.finished)}"
            )
        log.warning(
            "allow_partial=true: using only the finished %s of %s (%s)",
            _names(state.finished),
            folder.path,
            state.problems(),
        )
    folds = folder.folds()
    return [folds[k].final.best_checkpoint for k in state.finished]


def _names(folds: list[int]) -> str:
    return ", ".join(f"{FOLD_PREFIX}{k}" for k in folds)


def _summary_folds(folder: RunFolder) -> list[int]:
    """The folds a cross-validation summary lists ([] without a readable summary)."""
    path = folder.path / CV_SUMMARY_FILE
    if not path.is_file():
        return []
    try:
        folds = json.loads(path.read_text()).get("folds", {})
        return [int(k) for k in folds]
    except (OSError, ValueError, AttributeError, TypeError) as error:
        log.warning("%s: unreadable (%s); its folds are not checked", path, error)
        return []


def _recorded_range(folder: RunFolder) -> list[int]:
    """The folds of the ``+fold=a..b`` range that Hydra recorded for this folder, else []."""
    config = _read_record(folder.path / HYDRA_CONFIG)
    return range_folds(config.get("fold")) if isinstance(config, dict) else []


def _finish_command(folder: RunFolder) -> str:
    """The command that finishes the folder's folds: its recorded one with ``resume=true``."""
    recorded = _read_record(folder.path / HYDRA_OVERRIDES)
    if isinstance(recorded, list) and all(isinstance(item, str) for item in recorded):
        # A resumed run recorded resume=true already; the folder is named explicitly below.
        kept = [o for o in recorded if not o.lstrip("+~").startswith(("resume=", "hydra.run.dir="))]
        return shlex.join(
            ["python", "-m", "lus_unet.train", *kept, f"hydra.run.dir={folder.path}", "resume=true"]
        )
    return f"python -m lus_unet.train <its overrides> hydra.run.dir={folder.path} resume=true"


def _read_record(path: Path) -> Any:
    """A YAML file of Hydra's record as plain data; None when absent or unreadable."""
    if not path.is_file():
        return None
    try:
        return OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except Exception as error:  # yaml and omegaconf raise many types; all mean "unreadable"
        log.warning("%s: unreadable (%s); the fold range it records is not checked", path, error)
        return None
