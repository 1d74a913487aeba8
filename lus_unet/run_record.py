"""A Hydra callback that keeps the record (``.hydra/``) of a folder that already holds a run.

Hydra writes ``.hydra/`` (the composed config, the overrides) into ``hydra.run.dir`` before
the entry point runs. Whether this command may write into that folder is decided only later
(the lock, the resume checks), so a command that is then refused, a second training into a
live run folder or a resume with other settings, would already have replaced the record of
the run that is there. The callback runs in ``on_run_start``, before Hydra writes anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, read_write

from lus_unet.run_folder import RunFolder


class KeepRunRecord(Callback):
    """Leave ``.hydra/`` of a run folder (or a cross-validation folder) as its first command
    wrote it; the run's own ``config.yaml`` records what a resume continued with."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        folder = RunFolder(Path(str(config.hydra.run.dir)).expanduser())
        if folder.started or folder.folds() or folder.read_stages():
            with read_write(config.hydra):
                config.hydra.output_subdir = None
