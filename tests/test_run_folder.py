"""The run folder: its file names, its lifecycle (create, resume, finished) and its lookups."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lus_unet.cv import write_cv_summary
from lus_unet.errors import ConfigError
from lus_unet.report.collect import collect_runs
from lus_unet.run_fingerprint import fingerprint
from lus_unet.run_folder import RunFolder, run_dir_of
from lus_unet.run_lock import RunLock

RUN = fingerprint({"seed": 1}, None)  # what defines a run, for the lifecycle tests


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_file_names_and_the_folder_of_a_checkpoint(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "run")
    assert folder.config_file == tmp_path / "run" / "config.yaml"
    assert folder.split_file == tmp_path / "run" / "split.json"
    assert folder.metrics_file == tmp_path / "run" / "metrics.json"
    assert folder.best_checkpoint == tmp_path / "run" / "checkpoints" / "best.ckpt"
    assert folder.last_checkpoint == tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert folder.fold(3).path == tmp_path / "run" / "fold_3"
    assert RunFolder.of_checkpoint(folder.best_checkpoint) == folder
    assert run_dir_of(tmp_path / "weights" / "model.ckpt") == tmp_path / "weights"


def test_create_makes_a_new_folder_and_refuses_a_started_one(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path / "new" / "run")
    assert folder.start(False, RUN) is None
    assert folder.path.is_dir() and not folder.started and not folder.finished
    folder.create()  # an empty folder (e.g. made by Hydra) takes a new run
    folder.write_split({"train": ["a"], "val": ["b"]})
    assert folder.started
    with pytest.raises(ConfigError, match="stopped before its first checkpoint; restart it"):
        folder.create()
    _touch(folder.last_checkpoint)
    with pytest.raises(
        ConfigError, match=r"holds an interrupted run; continue it with: .*resume=true"
    ):
        folder.create()


@pytest.mark.parametrize("resume", [False, True])
def test_a_finished_run_is_never_overwritten_and_the_message_says_what_to_do(
    tmp_path: Path, resume: bool
) -> None:
    folder = RunFolder(tmp_path)
    _touch(folder.last_checkpoint)
    folder.write_metrics({"val_dice": 0.5})
    assert folder.finished
    with pytest.raises(ConfigError, match=r"already holds a finished run.*another folder"):
        folder.start(resume, RUN)


def test_resume_continues_from_the_last_checkpoint_only(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    with pytest.raises(ConfigError, match=r"no checkpoint to resume from .*drop resume=true"):
        folder.resume(RUN)
    last = _touch(folder.last_checkpoint)
    assert folder.resume(RUN) == last == folder.start(True, RUN)


def test_resume_refuses_other_settings_and_restarts_a_run_without_checkpoint(
    tmp_path: Path,
) -> None:
    folder = RunFolder(tmp_path)
    folder.write_fingerprint(RUN)
    folder.write_split({"train": ["a"], "val": ["b"]})
    _touch(folder.tensorboard_dir / "events.out.tfevents.1")
    other = fingerprint({"seed": 7, "trainer": {"max_epochs": 9}}, None)
    with pytest.raises(ConfigError, match=r"resume=true: seed changed 1 -> 7; start a new run"):
        folder.resume(other)
    longer = fingerprint({"seed": 1, "trainer": {"max_epochs": 9}}, None)
    assert folder.resume(longer) is None  # no checkpoint yet: it restarts from the start
    assert not folder.tensorboard_dir.exists() and folder.split_file.exists()


def test_a_ddp_worker_follows_rank_0_and_writes_nothing(tmp_path: Path) -> None:
    writer, worker = RunFolder(tmp_path), RunFolder(tmp_path, writer=False)
    writer.write_split({"train": [], "val": []})  # rank 0 started the run
    assert worker.start(False, RUN) is None  # no "interrupted run" refusal
    assert worker.start(True, RUN) is None  # rank 0 found no checkpoint: a restart
    _touch(writer.last_checkpoint)
    assert worker.start(True, RUN) == worker.last_checkpoint
    worker.write_metrics({"val_dice": 1.0})
    worker.write_config({"seed": 1})
    assert not worker.finished and not worker.config_file.exists()


def test_a_fold_is_reached_once_its_folder_exists_or_for_a_worker_its_checkpoint(
    tmp_path: Path,
) -> None:
    fold, worker_fold = RunFolder(tmp_path).fold(1), RunFolder(tmp_path, writer=False).fold(1)
    assert worker_fold.writer is False
    assert not fold.reached
    fold.path.mkdir()
    assert fold.reached and not worker_fold.reached
    _touch(fold.last_checkpoint)
    assert worker_fold.reached


def test_folds_in_numeric_order_and_the_best_checkpoints_found(tmp_path: Path) -> None:
    cv = RunFolder(tmp_path / "cv")
    assert cv.folds() == {} and cv.best_checkpoints() == []
    for k in (10, 2, 0):
        _touch(cv.fold(k).best_checkpoint)
    (cv.path / "fold_x").mkdir()
    _touch(cv.path / "fold_4")  # a file, not a fold
    (cv.path / "fold_7").mkdir()  # a fold without a checkpoint
    assert list(cv.folds()) == [0, 2, 7, 10]
    assert cv.best_checkpoints() == [cv.fold(k).best_checkpoint for k in (0, 2, 10)]
    assert cv.fold(2).best_checkpoints() == [cv.fold(2).best_checkpoint]


def test_files_round_trip_and_the_cv_summary_lies_beside_the_folds(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    assert folder.read_metrics() is None
    folder.write_config({"model": {"name": "xunet"}, "fold": None})
    folder.write_split({"train": ["a"], "val": ["b"]})
    assert folder.read_config() == {"model": {"name": "xunet"}, "fold": None}
    assert folder.read_split()["val"] == ["b"]
    folds = [{"fold": k, "val_dice": 0.5 + k / 10, "val_iou": 0.4} for k in (0, 1)]
    summary = write_cv_summary(folder, folds)
    assert json.loads((tmp_path / "cv_summary.json").read_text())["highest_fold"] == 1
    assert summary["n_folds_run"] == 2
    assert "| 1 | 0.6000 |" in (tmp_path / "cv_summary.md").read_text()


def test_only_a_training_run_folder_holds_a_run(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / "run")
    run.write_split({"train": ["a"], "val": ["b"]})
    run.write_config({"task_name": "train", "model": {"name": "xunet"}})
    run.write_metrics({"val_dice": 0.5})
    # What evaluate writes next to the run, and Hydra's copy of a job's config.
    _touch(run.path / "evaluation" / "2026-01-01_00-00-00" / "config.yaml")
    _touch(run.path / ".hydra" / "config.yaml")
    assert run.holds_run
    assert not RunFolder(run.path / "evaluation" / "2026-01-01_00-00-00").holds_run
    assert [(r.path, r.finished) for r in collect_runs(tmp_path)] == [(run.path, True)]


def test_the_lock_names_its_holder_and_a_dead_holders_child(tmp_path: Path) -> None:
    with RunFolder(tmp_path).locked():
        holder = json.loads((tmp_path / ".lock.json").read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(ConfigError, match=rf"in use by another training \(PID {os.getpid()}"):
            RunLock(tmp_path).acquire()
        # The holder died but a child it forked (a data-loader worker) still holds the lock.
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        (tmp_path / ".lock.json").write_text(json.dumps({**holder, "pid": int(dead.stdout)}))
        with pytest.raises(ConfigError, match=r"still locked by a process started by PID \d+"):
            RunLock(tmp_path).acquire()
    assert not (tmp_path / ".lock.json").exists()
    assert RunFolder(tmp_path, writer=False).locked().__enter__() is None  # DDP workers: no lock


def test_an_unreadable_fingerprint_is_refused_in_one_line(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    folder.write_split({"train": ["a"], "val": ["b"]})
    folder.fingerprint_file.write_text("{not json")
    with pytest.raises(ConfigError, match=r"fingerprint\.json: not a readable run fingerprint"):
        folder.resume(RUN)
