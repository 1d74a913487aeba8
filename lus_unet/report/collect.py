"""Finding runs under a folder: finished ones with their metrics, and failed ones."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from lus_unet.run_folder import CONFIG_FILE, RunFolder


@dataclass(frozen=True)
class Run:
    """One training run folder.

    Attributes:
        path: the run folder.
        config: its resolved ``config.yaml`` (empty for a job that failed before writing it).
        metrics: its ``metrics.json``, or None if it did not finish.
        overrides: the Hydra overrides of the job that produced it, if known.
    """

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any] | None
    overrides: list[str]

    @property
    def finished(self) -> bool:
        return self.metrics is not None

    @property
    def configuration(self) -> tuple[str, str, str, str]:
        """What Table 1 groups by: stage, model, fine-tuning strategy, data size."""
        c = self.config
        return (
            str(c.get("task_name", "?")),
            str(c.get("model", {}).get("name", "?")),
            str(c.get("finetune", {}).get("name", "?")),
            str(c.get("data_size", "?")),
        )


def _overrides(folder: Path) -> list[str]:
    for candidate in (folder, *folder.parents):
        file = candidate / ".hydra" / "overrides.yaml"
        if file.is_file():
            return [str(o) for o in OmegaConf.load(file)]
    return []


def collect_runs(root: Path) -> list[Run]:
    """Every run under ``root``: training run folders (finished or not, see
    :attr:`RunFolder.holds_run`), and Hydra job folders that died before writing one (listed
    as failed, with their overrides)."""
    runs = []
    for config_file in sorted(root.rglob(CONFIG_FILE)):
        folder = RunFolder(config_file.parent)
        if not folder.holds_run:
            continue  # Hydra's .hydra/config.yaml, an evaluation's config.yaml
        config, metrics = folder.read_config(), folder.read_metrics()
        runs.append(Run(folder.path, config, metrics, _overrides(folder.path)))
    runs += shared_stage_runs(runs)
    started = {run.path for run in runs}
    for hydra_dir in sorted(root.rglob(".hydra")):
        job = hydra_dir.parent
        has_runs = any(p == job or job in p.parents for p in started)
        if not has_runs:
            runs.append(Run(job, {}, None, _overrides(job)))
    return runs


def shared_stage_runs(runs: list[Run]) -> list[Run]:
    """The shared stages (X-UNet's cached pre-training) that the stages of ``runs`` started
    from, once each: they live outside the grid's folder, in ``<cache_dir>/stages/``."""
    known = {run.path.resolve() for run in runs}
    shared = []
    for run in runs:
        start = run.config.get("init_from") if run.config.get("stage") else None
        if not start:
            continue
        folder = RunFolder.of_checkpoint(Path(start))
        if folder.path.resolve() not in known and folder.holds_run:
            known.add(folder.path.resolve())
            config, metrics = folder.read_config(), folder.read_metrics()
            shared.append(Run(folder.path, config, metrics, []))
    return shared
