"""A Hydra callback refusing an output folder that is a file, before Hydra creates it.

Hydra makes ``hydra.run.dir`` (``hydra.sweep.dir`` in a multirun) before the entry point runs,
so a path naming an existing file would end in Hydra's own traceback; the check has to run in
``on_run_start`` / ``on_multirun_start``, where only an exit stops Hydra (it turns a
callback's exception into a warning, even with ``HYDRA_FULL_ERROR=1``).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def file_in_the_way(key: str, folder: str) -> str | None:
    """The one-line problem when ``folder`` or one of its parents is an existing file.

    Args:
        key: the config key that named the folder.
        folder: the folder Hydra is about to create.
    """
    path = Path(folder).expanduser()
    for candidate in (path, *path.parents):
        if candidate.is_file():
            return (
                f"{key}={folder}: {candidate} is a file, not a folder; choose another output folder"
            )
    return None


class RefuseFileOutputDir(Callback):
    """Exit with one line (status 1) when the run or sweep folder is an existing file."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check("hydra.run.dir", config.hydra.run.dir)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check("hydra.sweep.dir", config.hydra.sweep.dir)

    @staticmethod
    def _check(key: str, folder: str) -> None:
        problem = file_in_the_way(key, str(folder))
        if problem is None:
            return
        log.error("%s", problem)
        sys.exit(1)
