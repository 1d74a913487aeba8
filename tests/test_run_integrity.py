"""Run integrity through the train CLI: a resume with other settings or data is refused and
changes nothing, one training at a time writes a run folder, a stale lock is taken over, a run
that died before its first checkpoint is restarted by the command its message gives, and an
empty ``data.root`` is refused."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import compose_config, run_module, run_modules, run_paths, tiny_overrides
from folders import make_folder

from lus_unet.errors import ConfigError
from lus_unet.train import train
from lus_unet.utils import PROJECT_ROOT

TINY = tiny_overrides("xunet")
# Not the run's content: the lock's own bookkeeping, and Hydra's log, to which every command
# run in the folder appends its lines (a refused one its refusal).
NOT_CONTENT = {".lock", ".lock.json", "train.log"}


def _hashes(folder: Path) -> dict[str, str]:
    """Every file below a run folder (but :data:`NOT_CONTENT`) with the hash of its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name not in NOT_CONTENT
    }


def _train_in_process(run: Path, cache_dir: Path, *overrides: str) -> dict:
    return train(compose_config("train", *run_paths(run, cache_dir), *TINY, *overrides))


def _interrupted(run: Path) -> None:
    """Make a finished run look killed after its last checkpoint (what SIGKILL leaves)."""
    (run / "metrics.json").unlink()


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def _start(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "lus_unet.train", *args]
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _wait_for(path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert path.exists(), process.stderr.read().decode()[-3000:] if process.stderr else ""


@pytest.mark.slow
def test_a_resume_with_other_settings_is_refused_naming_them_and_changes_nothing(
    tmp_path, cache_dir, tiny_cv_run
):
    run, cv = tmp_path / "run", tmp_path / "cv"
    _train_in_process(run, cache_dir)
    _interrupted(run)
    shutil.copytree(tiny_cv_run, cv)
    _interrupted(cv / "fold_1")  # fold 0 finished, fold 1 killed
    before = {run: _hashes(run), cv: _hashes(cv)}
    common = [*TINY, f"paths.cache_dir={cache_dir}", "resume=true"]
    holdout, cv_range = run_modules(
        [
            (
                "lus_unet.train",
                [*common, "seed=7", "data.val_fraction=0.5", f"hydra.run.dir={run}"],
                {},
            ),
            (
                "lus_unet.train",
                [*common, "lr=3e-3", "+fold=0..1", "seed=7", f"hydra.run.dir={cv}"],
                {},
            ),
        ],
        cwd=tmp_path,
    )
    assert holdout.returncode == 1 and "Traceback" not in _output(holdout)
    assert (
        "resume=true: data.val_fraction changed 0.2 -> 0.5, seed changed 42 -> 7; start a new "
        "run folder (hydra.run.dir=...) or resume with the original settings"
    ) in _output(holdout)
    assert cv_range.returncode == 1
    assert "resume=true: seed changed 42 -> 7; start a new run folder" in _output(cv_range)
    assert str(cv / "fold_0") in _output(cv_range)  # the finished fold is checked too
    assert {run: _hashes(run), cv: _hashes(cv)} == before  # no .hydra/ either
    # What only decides when training stops, how fast and where files go may change.
    metrics = _train_in_process(
        run, cache_dir, "resume=true", "trainer.max_epochs=2", "data.cache=false"
    )
    assert metrics["epochs_run"] == 2


def test_a_resume_on_changed_data_files_is_refused_naming_them(tmp_path, cache_dir):
    data, run = tmp_path / "data", tmp_path / "run"
    make_folder(data, n=6)
    _train_in_process(run, cache_dir, f"data.root={data}")
    _interrupted(run)
    mask = data / "masks" / "f1.png"
    os.utime(mask, ns=(mask.stat().st_atime_ns, mask.stat().st_mtime_ns + 10**9))
    (data / "images" / "f0.png").unlink()
    (data / "masks" / "f0.png").unlink()
    with pytest.raises(
        ConfigError,
        match=r"resume=true: data files changed \(2 removed: images/f0.png, masks/f0.png; "
        r"1 modified \(size or time\): masks/f1.png\)",
    ):
        _train_in_process(run, cache_dir, f"data.root={data}", "resume=true")


@pytest.mark.slow
def test_a_second_training_into_a_live_run_folder_stops_naming_the_holder(tmp_path, cache_dir):
    run = tmp_path / "run"
    # Long enough to be running while the second one starts; ends on its own, normally.
    first = _start(
        [*TINY, "trainer.max_epochs=1000", "+trainer.max_time={seconds:15}",
         f"paths.cache_dir={cache_dir}", f"hydra.run.dir={run}"],
        cwd=tmp_path,
    )  # fmt: skip
    _wait_for(run / "split.json", first)
    with pytest.raises(ConfigError) as refused:
        _train_in_process(run, cache_dir, "seed=7")
    assert str(refused.value) == (
        f"{run} is in use by another training (PID {first.pid} on host {socket.gethostname()}, "
        f"since {json.loads((run / '.lock.json').read_text())['since']}); wait for it to "
        "finish, or write to another folder (hydra.run.dir=...)"
    )
    assert first.wait(timeout=600) == 0, first.stderr.read().decode()[-3000:]
    assert json.loads((run / "metrics.json").read_text())["epochs_run"] >= 1
    assert json.loads((run / "fingerprint.json").read_text())["settings"]["seed"] == 42
    assert "seed: 42" in (run / "config.yaml").read_text()
    assert not (run / ".lock.json").exists()  # released cleanly


@pytest.mark.slow
def test_a_run_killed_before_its_first_checkpoint_is_restarted_by_the_command_it_names(
    tmp_path, cache_dir
):
    run = tmp_path / "run"
    # Epochs of a second or more, so that the kill lands before the first checkpoint.
    slower = ["data.image_size=[64,64]", "model.base_channels=8", "data.synthetic.n_frames=24"]
    args = [*TINY, *slower, f"paths.cache_dir={cache_dir}", f"hydra.run.dir={run}"]
    killed = _start(args, cwd=tmp_path)
    _wait_for(run / "split.json", killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not (run / "checkpoints" / "last.ckpt").exists(), "killed after its first checkpoint"
    assert json.loads((run / ".lock.json").read_text())["pid"] == killed.pid  # a stale lock

    rerun, empty_root = run_modules(
        [("lus_unet.train", args, {}), ("lus_unet.train", [*TINY, "data.root="], {})],
        cwd=tmp_path,
    )
    assert rerun.returncode == 1 and "Traceback" not in _output(rerun)
    assert f"stale lock left by PID {killed.pid} on host {socket.gethostname()}" in _output(rerun)
    found = re.search(
        rf"{re.escape(str(run))} holds a run that stopped before its first checkpoint; restart "
        r"it from the start with: (python -m lus_unet\.train .*) \(or choose another folder\)",
        _output(rerun),
    )
    assert found, _output(rerun)[-3000:]
    assert empty_root.returncode == 1
    assert (
        "data.root=: empty (an unset shell variable?); name a data folder, or leave data.root "
        "out (or set data.root=null) for the embedded synthetic set"
    ) in _output(empty_root)

    _python, _m, module, *given = shlex.split(found.group(1))
    restarted = run_module(module, *given, cwd=tmp_path)
    assert restarted.returncode == 0, _output(restarted)[-3000:]
    assert json.loads((run / "metrics.json").read_text())["epochs_run"] == 1
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 1  # the restart's
