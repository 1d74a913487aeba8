"""Reliability: exact resume after SIGKILL, determinism, no overwrites, sweep failure isolation,
config validation before heavy work, safe checkpoint loading."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import tiny_overrides
from test_train import run_cli

from lus_unet.errors import ConfigError, DataError, WeightsError
from lus_unet.train import train
from lus_unet.utils import PROJECT_ROOT

# Epochs of about a second on 2 cores, so that a kill lands mid-training.
RESUMABLE = [
    *tiny_overrides("xunet"),
    "model.base_channels=8",
    "data.image_size=[64,64]",
    "data.synthetic.n_frames=24",
    "trainer.max_epochs=5",
    "image_log_every_n_epochs=2",
    # Learns every epoch, so the best epoch falls after the kill and depends on the resume.
    "lr=2e-3",
    "loss=bce_dice",
]
COMPARED = ("val_dice", "val_iou", "val_loss", "best_epoch", "n_train", "n_val")


def _metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


@pytest.mark.slow
def test_resume_after_sigkill_ends_exactly_like_an_uninterrupted_run(tmp_path, cache_dir):
    common = [*RESUMABLE, f"paths.cache_dir={cache_dir}"]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    result = run_cli(*common, f"hydra.run.dir={straight}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]

    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "lus_unet.train", *common, f"hydra.run.dir={killed}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    last = killed / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not last.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (killed / "metrics.json").exists(), "the run finished before it could be killed"
    killed_at = torch.load(last, weights_only=True)["epoch"]

    refused = run_cli(*common, f"hydra.run.dir={killed}", cwd=tmp_path)
    assert refused.returncode == 1 and "resume=true" in refused.stdout + refused.stderr

    resumed = run_cli(*common, "resume=true", f"hydra.run.dir={killed}", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = _metrics(straight), _metrics(killed)
    for key in COMPARED:
        assert b[key] == pytest.approx(a[key], abs=1e-6), key
    assert a["best_epoch"] > killed_at  # the compared epoch was trained after the resume
    final_a, final_b = (
        torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
        for run in (straight, killed)
    )
    assert final_a["epoch"] == final_b["epoch"]
    for name, tensor in final_a["state_dict"].items():
        assert torch.allclose(final_b["state_dict"][name], tensor, atol=1e-6), name

    # The TensorBoard history of the killed part is still there, next to the resumed part.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    steps = set()
    for events in (killed / "tensorboard").glob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        if "val/dice" in accumulator.Tags()["scalars"]:
            steps |= {e.step for e in accumulator.Scalars("val/dice")}
    assert len(list((killed / "tensorboard").glob("events.out.tfevents.*"))) >= 2
    # One val/dice point per epoch across both processes (step 0 is the hparams placeholder).
    assert len(steps - {0}) == 5


def test_same_seed_and_config_give_the_same_split_and_metrics(compose_train, tmp_path):
    short = ["trainer.max_epochs=2", "+trainer.limit_train_batches=3"]
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        train(compose_train(*tiny_overrides("xunet"), *short, f"paths.output_dir={out}"))
        runs.append(out)
    a, b = (_metrics(r) for r in runs)
    assert {k: a[k] for k in COMPARED} == {k: b[k] for k in COMPARED}
    split_a, split_b = (json.loads((r / "split.json").read_text()) for r in runs)
    assert split_a["train"] == split_b["train"] and split_a["val"] == split_b["val"]
    other = tmp_path / "c"
    train(compose_train(*tiny_overrides("xunet"), *short, "seed=7", f"paths.output_dir={other}"))
    assert json.loads((other / "split.json").read_text())["val"] != split_a["val"]


def test_an_interrupted_run_folder_is_only_continued_with_resume(compose_train, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    with pytest.raises(ConfigError, match="stopped before its first checkpoint; restart it"):
        train(compose_train(*tiny_overrides("xunet")))
    # Nothing of it to keep: resume=true restarts it.
    train(compose_train(*tiny_overrides("xunet"), "resume=true"))
    assert (run / "metrics.json").is_file()
    with pytest.raises(ConfigError, match="no checkpoint to resume from"):
        train(compose_train(*tiny_overrides("xunet"), "resume=true", f"paths.output_dir={run}2"))


def test_a_resumed_fold_range_keeps_finished_folds_and_starts_the_others(compose_train, tmp_path):
    run = tmp_path / "run"
    short = [
        *tiny_overrides("xunet"),
        "+trainer.limit_train_batches=2",
        "+trainer.limit_val_batches=1",
    ]
    # As if a 0..1 range had been killed after fold 0 finished, before fold 1 began.
    train(compose_train(*short, "+fold=0", f"paths.output_dir={run / 'fold_0'}"))
    fold_0 = (run / "fold_0" / "metrics.json").read_text()
    with pytest.raises(
        ConfigError, match=r"resume=true: nothing to resume in .*no fold_<k> folder"
    ):
        train(compose_train(*short, "+fold=1..2", "resume=true"))
    summary = train(compose_train(*short, "+fold=0..1", "resume=true"))
    assert sorted(summary["folds"]) == [0, 1]
    assert (run / "fold_0" / "metrics.json").read_text() == fold_0
    assert json.loads((run / "fold_1" / "metrics.json").read_text())["fold"] == 1


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        ("data.image_size=[30,32]", ConfigError, "positive multiple of 16"),
        ("data.batch_size=0", ConfigError, "at least 1"),
        ("loss=focal", ConfigError, "loss=focal: unknown value; valid: dice, bce, bce_dice"),
        ("data.augment=heavy", ConfigError, "valid: none, keras, strong"),
        ("data.split=random", ConfigError, "valid: grouped, leaky_paper"),
        ("lr=0", ConfigError, "lr=0: must be positive"),
        ("data.root=/no/such/folder", DataError, "data folder does not exist"),
        # An unset shell variable (data.root=$DATA) must not mean the embedded set.
        ("data.root=", ConfigError, r"data\.root=: empty \(an unset shell variable\?\)"),
        ("+fold=7", ConfigError, "fold 7 does not exist"),
    ],
)
def test_config_is_validated_before_any_work(compose_train, tmp_path, override, error, message):
    with pytest.raises(error, match=message):
        train(compose_train(*tiny_overrides("xunet"), override))
    assert not (tmp_path / "run" / "split.json").exists()


def test_a_failing_sweep_job_does_not_stop_the_others(tmp_path, cache_dir):
    sweep = tmp_path / "sweep"
    result = run_cli(
        "-m",
        *tiny_overrides("xunet"),
        "+trainer.fast_dev_run=true",
        "data.split=leaky_paper,bogus,grouped",
        f"hydra.sweep.dir={sweep}",
        f"paths.cache_dir={cache_dir}",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    summary = json.loads((sweep / "sweep_summary.json").read_text())
    assert (summary["succeeded"], summary["failed"]) == (2, 1)
    failed = [job for job in summary["jobs"] if job["status"] == "failed"]
    assert failed[0]["overrides"][-1].endswith("data.split=bogus") or any(
        "data.split=bogus" in o for o in failed[0]["overrides"]
    )
    assert "unknown value" in failed[0]["error"]
    assert len(list(sweep.glob("*/metrics.json"))) == 2
    assert "Traceback" not in result.stdout + result.stderr


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_checkpoint_carrying_code_is_refused_and_the_code_never_runs(compose_train, tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.ckpt"
    with open(evil, "wb") as handle:
        torch.save(
            {"state_dict": {"net.head.weight": _Payload(marker)}}, handle, pickle_module=pickle
        )
    with pytest.raises(WeightsError, match="refused to load"):
        train(compose_train(*tiny_overrides("xunet"), f"init_from={evil}"))
    assert not marker.exists()
