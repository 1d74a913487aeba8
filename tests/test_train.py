"""Training end to end: Hydra compose API with fast_dev_run, and the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tiny_overrides

from lus_unet.errors import ConfigError
from lus_unet.evaluation.finished_folds import fold_state
from lus_unet.run_folder import RunFolder
from lus_unet.train import train
from lus_unet.utils import PROJECT_ROOT

STRATEGIES = ["all", "encoder_frozen", "bottleneck_frozen"]


@pytest.mark.parametrize("finetune", STRATEGIES)
@pytest.mark.parametrize("model", ["xunet", "vunet"])
def test_fast_dev_run_for_every_model_and_strategy(compose_train, tmp_path, model, finetune):
    cfg = compose_train(
        *tiny_overrides(model), f"finetune={finetune}", "+trainer.fast_dev_run=true"
    )
    if model == "vunet" and finetune == "bottleneck_frozen":
        # V-UNet's bottleneck lives inside the VGG16 encoder: freezing it would do nothing.
        with pytest.raises(ConfigError, match="has no parameters"):
            train(cfg)
        return
    metrics = train(cfg)
    run = tmp_path / "run"
    saved = json.loads((run / "metrics.json").read_text())
    assert saved == metrics
    assert 0.0 <= metrics["val_dice"] <= 1.0
    assert metrics["n_train"] + metrics["n_val"] == 20  # 10 frames + their flips
    frozen = {"all": [], "encoder_frozen": ["encoder"], "bottleneck_frozen": ["bottleneck"]}
    n_frozen = sum(metrics["params_by_group"][g] for g in frozen[finetune])
    assert metrics["params_trainable"] == metrics["params_total"] - n_frozen
    split = json.loads((run / "split.json").read_text())
    assert split["fold"] is None and len(split["val"]) == metrics["n_val"]
    assert (run / "config.yaml").is_file()


def test_training_writes_checkpoints_and_tensorboard(compose_train, tmp_path):
    metrics = train(compose_train(*tiny_overrides("xunet"), "trainer.max_epochs=2", "+fold=1"))
    run = tmp_path / "run"
    assert (run / "checkpoints" / "best.ckpt").is_file()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert metrics["best_checkpoint"].endswith("best.ckpt")
    assert metrics["fold"] == 1 and metrics["best_epoch"] in (0, 1)
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert json.loads((run / "split.json").read_text())["fold"] == 1


def test_refuses_to_overwrite_a_finished_run(compose_train):
    cfg = compose_train(*tiny_overrides("xunet"), "+trainer.fast_dev_run=true")
    train(cfg)
    with pytest.raises(ConfigError, match="already holds a finished run"):
        train(cfg)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", "lus_unet.train", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_cli_fold_range_writes_a_cross_validation_summary(tmp_path, cache_dir):
    run = tmp_path / "cv"
    result = run_cli(
        *tiny_overrides("xunet"),
        "+fold=0..1",
        f"hydra.run.dir={run}",
        f"paths.cache_dir={cache_dir}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((run / "cv_summary.json").read_text())
    per_fold = {int(k): v for k, v in summary["folds"].items()}
    assert sorted(per_fold) == [0, 1]
    for fold in (0, 1):
        assert (
            per_fold[fold]
            == json.loads((run / f"fold_{fold}" / "metrics.json").read_text())["val_dice"]
        )
    assert summary["highest"] == max(per_fold.values())
    assert per_fold[summary["highest_fold"]] == summary["highest"]
    assert summary["mean"] == pytest.approx(sum(per_fold.values()) / 2)
    assert "highest Dice (fold)" in (run / "cv_summary.md").read_text()
    assert (run / ".hydra" / "config.yaml").is_file()
    # Hydra's record gives predict and evaluate the range, so a killed one shows as partial.
    assert fold_state(RunFolder(run)).expected == [0, 1]


def test_cli_hydra_sweep_runs_one_job_per_fold(tmp_path, cache_dir):
    sweep = tmp_path / "sweep"
    result = run_cli(
        "-m",
        *tiny_overrides("xunet"),
        "+fold=range(2)",
        "+trainer.fast_dev_run=true",
        f"hydra.sweep.dir={sweep}",
        f"paths.cache_dir={cache_dir}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    folds = sorted(json.loads(p.read_text())["fold"] for p in sweep.glob("*/metrics.json"))
    assert folds == [0, 1]


@pytest.mark.parametrize(
    ("fold", "message"),
    [("5..2", "empty range"), ("0..9", "fold 5 does not exist"), ("x", "not a fold")],
)
def test_cli_rejects_bad_fold_specs_in_one_line(tmp_path, fold, message):
    result = run_cli(f"+fold={fold}", f"hydra.run.dir={tmp_path / 'bad'}", cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "bad" / "split.json").exists()  # stopped before any data work
