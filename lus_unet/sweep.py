"""Failure isolation in Hydra multiruns: every job runs, the sweep ends with a summary.

Hydra's basic sweeper raises on the first failed job once the batch is done, so neither a
summary nor ``on_multirun_end`` would follow. The train entry point therefore records each
job's outcome in ``job_status.json`` in the job folder (never raising in a multirun), and
:class:`SweepSummary`, a Hydra callback, gathers them when the sweep ends: it logs which
jobs succeeded and failed, writes ``sweep_summary.json`` and exits non-zero on any failure.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from lus_unet.utils import write_json_atomic

log = logging.getLogger(__name__)

STATUS_FILE = "job_status.json"


def record_job_status(job_dir: Path, overrides: list[str], error: BaseException | None) -> None:
    """Write the outcome of one job into its folder."""
    status = {
        "status": "failed" if error else "succeeded",
        "overrides": overrides,
        "error": None if error is None else f"{type(error).__name__}: {error}",
    }
    write_json_atomic(job_dir / STATUS_FILE, status)


def collect_job_statuses(sweep_dir: Path) -> list[dict[str, Any]]:
    """Every job outcome recorded below a sweep folder, in job order."""
    statuses = []
    for file in sorted(sweep_dir.rglob(STATUS_FILE)):
        status = json.loads(file.read_text())
        statuses.append({**status, "job_dir": str(file.parent)})
    return statuses


class SweepSummary(Callback):
    """Hydra callback: summarise a multirun and fail it if any job failed."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        statuses = collect_job_statuses(sweep_dir)
        failed = [s for s in statuses if s["status"] == "failed"]
        summary = {
            "succeeded": len(statuses) - len(failed),
            "failed": len(failed),
            "jobs": statuses,
        }
        write_json_atomic(sweep_dir / "sweep_summary.json", summary)
        log.info(
            "Sweep: %d succeeded, %d failed (%s)", summary["succeeded"], len(failed), sweep_dir
        )
        for status in failed:
            log.error("FAILED %s: %s", " ".join(status["overrides"]), status["error"])
        if failed:
            sys.exit(1)
