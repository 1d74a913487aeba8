"""The run folder: the one place that knows its file names and its lifecycle.

A training run writes ``config.yaml`` (its resolved configuration), ``split.json`` (the
samples it trained and validated on), ``checkpoints/best.ckpt`` and ``checkpoints/last.ckpt``,
then ``metrics.json`` when it finishes. Before them it writes ``fingerprint.json``, what
defines the run (:mod:`lus_unet.run_fingerprint`). A cross-validation range keeps one such
folder per fold, ``fold_<k>``, and writes ``cv_summary.json`` and ``cv_summary.md`` beside them.

Lifecycle: :meth:`RunFolder.create` starts a new run in a folder that holds none,
:meth:`RunFolder.resume` continues an interrupted one with the same fingerprint (or restarts
one that stopped before its first checkpoint), :attr:`RunFolder.finished` says it ended, and
:meth:`RunFolder.locked` keeps every other process out while a run writes
(:mod:`lus_unet.run_lock`). Evaluate, predict, report and ``init_from`` find checkpoints,
configs and splits through the same object.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
import shutil
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from lus_unet.errors import ConfigError
from lus_unet.run_fingerprint import fingerprint, refusal
from lus_unet.run_lock import RunLock
from lus_unet.utils import write_json_atomic, write_text_atomic

log = logging.getLogger(__name__)

CONFIG_FILE = "config.yaml"
SPLIT_FILE = "split.json"
FINGERPRINT_FILE = "fingerprint.json"
TENSORBOARD_DIR = "tensorboard"
METRICS_FILE = "metrics.json"
CV_SUMMARY_FILE = "cv_summary.json"
CV_TABLE_FILE = "cv_summary.md"
STAGES_FILE = "stages.json"
CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_SUFFIX = ".ckpt"
# Checkpoint file stems, as Lightning's ModelCheckpoint takes them (it appends the suffix).
BEST_CHECKPOINT = "best"  # the epoch selected by checkpoint.monitor: what evaluate and predict use
LAST_CHECKPOINT = "last"  # the latest epoch: what resume=true continues from
BEST_CHECKPOINT_PATH = Path(CHECKPOINT_DIR) / f"{BEST_CHECKPOINT}{CHECKPOINT_SUFFIX}"
LAST_CHECKPOINT_PATH = Path(CHECKPOINT_DIR) / f"{LAST_CHECKPOINT}{CHECKPOINT_SUFFIX}"
FOLD_PREFIX = "fold_"
_FOLD_DIR = re.compile(rf"{FOLD_PREFIX}(\d+)")
_SET_BY_RESUME_COMMAND = ("resume", "hydra.run.dir")


class _Inside:
    """A path inside the run folder, read as an attribute: ``folder.split_file``."""

    def __init__(self, relative: str | Path) -> None:
        self.relative = relative

    def __get__(self, folder: RunFolder, owner: type | None = None) -> Path:
        return folder.path / self.relative


@dataclass(frozen=True)
class RunFolder:
    """One run's folder (or a cross-validation folder holding ``fold_<k>`` run folders).

    Attributes:
        path: the folder.
        writer: whether this process writes the run's files. Only global rank 0 does: a DDP
            worker follows rank 0, skipping the checks and the writes.
    """

    path: Path
    writer: bool = True

    @classmethod
    def of_checkpoint(cls, checkpoint: Path) -> RunFolder:
        """The run folder of a checkpoint file: ``<run>/checkpoints/<name>.ckpt`` -> ``<run>``,
        else the file's own folder."""
        checkpoint = Path(checkpoint)
        parent = checkpoint.parent
        return cls(parent.parent if parent.name == CHECKPOINT_DIR else parent)

    # File names, as paths inside the folder.
    config_file = _Inside(CONFIG_FILE)
    split_file = _Inside(SPLIT_FILE)
    fingerprint_file = _Inside(FINGERPRINT_FILE)
    metrics_file = _Inside(METRICS_FILE)
    checkpoint_dir = _Inside(CHECKPOINT_DIR)
    tensorboard_dir = _Inside(TENSORBOARD_DIR)
    best_checkpoint = _Inside(BEST_CHECKPOINT_PATH)
    last_checkpoint = _Inside(LAST_CHECKPOINT_PATH)

    # Stages of a multi-stage run (conf/stages/): <run>/<stage>/, the last one holding the model.
    def stage(self, name: str) -> RunFolder:
        """The run folder of stage ``name`` inside this (fold's) folder."""
        return RunFolder(self.path / name, self.writer)

    def read_stages(self) -> list[str]:
        """The stages this folder holds, in training order ([]: a one-stage run)."""
        file = self.path / STAGES_FILE
        return list(json.loads(file.read_text())["order"]) if file.is_file() else []

    def write_stages(self, order: list[str]) -> None:
        """Record the stages this folder holds (the last one is the model)."""
        if self.writer:
            write_json_atomic(self.path / STAGES_FILE, {"order": order, "model": order[-1]})

    @property
    def final(self) -> RunFolder:
        """The folder of the trained model: the last stage's, or this one (one stage)."""
        stages = self.read_stages()
        return self.stage(stages[-1]) if stages else self

    # Folds of a cross-validation folder.
    def fold(self, fold: int) -> RunFolder:
        """The run folder of fold ``fold`` inside this cross-validation folder."""
        return RunFolder(self.path / f"{FOLD_PREFIX}{int(fold)}", self.writer)

    def folds(self) -> dict[int, RunFolder]:
        """The ``fold_<k>`` folders present, in numeric fold order (2 before 10)."""
        if not self.path.is_dir():
            return {}
        found = {
            int(match.group(1)): RunFolder(child, self.writer)
            for child in self.path.iterdir()
            if child.is_dir() and (match := _FOLD_DIR.fullmatch(child.name))
        }
        return dict(sorted(found.items()))

    def best_checkpoints(self) -> list[Path]:
        """The run's best checkpoint, else every fold's in fold order (a CV folder); [] if none.

        A multi-stage run's checkpoint is its last stage's.
        """
        if self.final.best_checkpoint.is_file():
            return [self.final.best_checkpoint]
        candidates = [fold.final.best_checkpoint for fold in self.folds().values()]
        return [file for file in candidates if file.is_file()]

    # Lifecycle.
    @property
    def finished(self) -> bool:
        """Whether a run ended here (it wrote ``metrics.json``)."""
        return self.metrics_file.is_file()

    @property
    def started(self) -> bool:
        """Whether a run began here: it wrote its split or a checkpoint folder."""
        return self.split_file.exists() or self.checkpoint_dir.exists()

    @property
    def holds_run(self) -> bool:
        """Whether a training run wrote its configuration here, finished or not.

        A run writes ``split.json`` before ``config.yaml``, so another program's
        ``config.yaml`` (an evaluation's, Hydra's ``.hydra/``) does not make a folder a run.
        """
        return self.config_file.is_file() and self.started

    @property
    def reached(self) -> bool:
        """Whether an interrupted fold range got to this fold, so ``resume=true`` continues it.

        A DDP worker starts once rank 0 has created the folder: only a checkpoint, which
        cannot be written before the worker joins, tells it whether rank 0 resumed.
        """
        return self.path.exists() if self.writer else self.last_checkpoint.is_file()

    def locked(self) -> AbstractContextManager[Any]:
        """The folder's exclusive lock while this process writes it (a DDP worker takes none).

        Raises:
            ConfigError: another live process holds it (the message names it).
        """
        return RunLock(self.path) if self.writer else nullcontext()

    def create(self) -> None:
        """Make the folder for a new run, refusing one that already holds a run.

        Raises:
            ConfigError: the folder holds a finished run, or an interrupted one (which only
                ``resume=true`` continues; the message gives the command).
        """
        if not self.writer:
            return  # rank 0 checked and created the folder before this worker started
        self._refuse_finished()
        if self.started and self.last_checkpoint.is_file():
            raise ConfigError(
                f"{self.path} holds an interrupted run; continue it with: {resume_command()} "
                "(or choose another folder)"
            )
        if self.started:
            raise ConfigError(
                f"{self.path} holds a run that stopped before its first checkpoint; restart it "
                f"from the start with: {resume_command()} (or choose another folder)"
            )
        self.path.mkdir(parents=True, exist_ok=True)

    def resume(self, current: dict[str, Any]) -> Path | None:
        """The checkpoint an interrupted run continues from (``checkpoints/last.ckpt``), or None
        for a run that stopped before its first checkpoint: it restarts from the start.

        Args:
            current: the fingerprint of the run about to start; it must equal the recorded one.

        Raises:
            ConfigError: the run finished, none was started here, or its settings or data differ
                (the message names them; nothing in the folder changes).
        """
        last = self.last_checkpoint
        if not self.writer:
            # Rank 0 resumed, or restarted having found no checkpoint.
            return last if last.is_file() else None
        self._refuse_finished()
        if not self.started:
            raise ConfigError(
                f"resume=true: no checkpoint to resume from at {last} (no run was started in "
                f"{self.path}); drop resume=true to start one"
            )
        self.check_same_run(current)
        if last.is_file():
            log.info("Resuming from %s", last)
            return last
        log.warning("%s: the run stopped before its first checkpoint; restarting it", self.path)
        for partial in (self.checkpoint_dir, self.tensorboard_dir):
            shutil.rmtree(partial, ignore_errors=True)  # the dead attempt's, nothing to keep
        return None

    def start(self, resume: bool, current: dict[str, Any]) -> Path | None:
        """:meth:`resume` with ``resume=true``, else :meth:`create`: the checkpoint to resume
        from, or None for a run starting at epoch 0. A folder never receives a second run.

        Args:
            resume: the ``resume`` setting.
            current: the fingerprint of the run about to start.
        """
        if resume:
            return self.resume(current)
        self.create()
        return None

    def check_same_run(self, current: dict[str, Any]) -> None:
        """Refuse to continue the recorded run with other settings or data.

        Args:
            current: the fingerprint of the run about to start.

        Raises:
            ConfigError: naming every changed key, and the data files that changed.
        """
        recorded = self.read_fingerprint()
        if recorded is not None and (problem := refusal(recorded, current)):
            raise ConfigError(f"{problem} ({self.path})")

    def _refuse_finished(self) -> None:
        if self.finished:
            raise ConfigError(
                f"{self.path} already holds a finished run; refusing to overwrite it. "
                "Choose another folder (hydra.run.dir)"
            )

    # Reading and writing its files (only the writer writes).
    def read_config(self) -> dict[str, Any]:
        """The run's resolved configuration (``config.yaml``), as plain data."""
        return OmegaConf.to_container(OmegaConf.load(self.config_file))  # type: ignore[return-value]

    def read_split(self) -> dict[str, Any]:
        """The run's split (``split.json``): ``train`` and ``val`` sample ids and settings."""
        return json.loads(self.split_file.read_text())

    def read_fingerprint(self) -> dict[str, Any] | None:
        """What defines the recorded run: ``fingerprint.json``, else the settings of a
        ``config.yaml`` written before fingerprints existed (data unknown), else None."""
        if self.fingerprint_file.is_file():
            try:
                recorded = json.loads(self.fingerprint_file.read_text())
            except ValueError:
                recorded = None
            if not isinstance(recorded, dict) or not isinstance(recorded.get("settings"), dict):
                raise ConfigError(
                    f"{self.fingerprint_file}: not a readable run fingerprint; start a new run "
                    "folder, or delete the file to resume without comparing the settings"
                )
            return recorded
        if self.config_file.is_file():
            return fingerprint(self.read_config(), None)
        return None

    def read_metrics(self) -> dict[str, Any] | None:
        """The finished run's ``metrics.json``, or None if it did not finish."""
        return json.loads(self.metrics_file.read_text()) if self.finished else None

    def write_config(self, run_config: dict[str, Any]) -> None:
        if self.writer:
            write_text_atomic(self.config_file, OmegaConf.to_yaml(run_config))

    def write_fingerprint(self, current: dict[str, Any]) -> None:
        if self.writer:
            write_json_atomic(self.fingerprint_file, current)

    def write_split(self, split: dict[str, Any]) -> None:
        if self.writer:
            write_json_atomic(self.split_file, split)

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        if self.writer:
            write_json_atomic(self.metrics_file, metrics)

    def write_cv_summary(self, summary: dict[str, Any], table: str) -> None:
        """Write a cross-validation summary and its Markdown table beside the folds."""
        if self.writer:
            write_json_atomic(self.path / CV_SUMMARY_FILE, summary)
            write_text_atomic(self.path / CV_TABLE_FILE, table)


def resume_command() -> str:
    """``python -m lus_unet.train <this run's overrides> resume=true hydra.run.dir=<its folder>``.

    The overrides are the current command line's (Hydra's record of them), so the command
    continues exactly this run; without Hydra (the Python API) they are a placeholder.
    """
    if not HydraConfig.initialized():
        return "python -m lus_unet.train <the same overrides> resume=true hydra.run.dir=<folder>"
    hydra = HydraConfig.get()
    kept = [
        o
        for o in hydra.overrides.task
        if o.lstrip("+~").partition("=")[0] not in _SET_BY_RESUME_COMMAND
    ]
    folder = f"hydra.run.dir={hydra.runtime.output_dir}"
    return shlex.join(["python", "-m", "lus_unet.train", *kept, "resume=true", folder])


def run_dir_of(checkpoint: Path) -> Path:
    """The run folder of a checkpoint file (``<run>/checkpoints/<name>.ckpt`` -> ``<run>``).

    Args:
        checkpoint: a checkpoint file.
    """
    return RunFolder.of_checkpoint(checkpoint).path
