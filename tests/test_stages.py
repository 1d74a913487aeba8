"""A run as a chain of stages: the paper's V-UNet TL -> FT per fold, X-UNet's shared
pre-training reused by every fold and run, resume at the stage where it stopped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import compose_config, tiny_overrides
from omegaconf import OmegaConf

from lus_unet.config.train import check_train_config
from lus_unet.errors import ConfigError
from lus_unet.evaluation.checkpoints import resolve_checkpoints
from lus_unet.train import train

SHORT = ["+trainer.limit_train_batches=2", "+trainer.limit_val_batches=1"]
# A small shared pre-training: 12 salient images at the run's 32x32.
SMALL_PRETRAIN = [
    "stages.steps.pretrain.epochs=1",
    "stages.steps.pretrain.data.synthetic.n_images=12",
    "stages.steps.pretrain.data.batch_size=4",
]


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text())


def _config(folder: Path) -> dict:
    return OmegaConf.to_container(OmegaConf.load(folder / "config.yaml"))


def test_defaults_are_the_papers_protocols() -> None:
    xunet = compose_config("train", "paths.output_dir=o")
    assert list(xunet.stages.order) == ["pretrain", "ft"]
    assert xunet.stages.steps.pretrain.shared
    assert xunet.stages.steps.pretrain.data._target_.endswith("SalientDataModule")
    assert xunet.stages.steps.pretrain.data.batch_size == 30  # the authors' XPIE batch
    assert xunet.stages.steps.pretrain.epochs == 100
    vunet = compose_config("train", "model=vunet", "paths.output_dir=o")
    assert list(vunet.stages.order) == ["tl", "ft"]
    assert vunet.stages.steps.tl.finetune == "encoder_frozen"
    assert vunet.stages.steps.ft.finetune == "all"
    assert vunet.stages.steps.ft.lr_factor * vunet.lr == pytest.approx(5e-6)
    assert compose_config("train", "experiment=quickstart").stages.order == []
    assert "stages" not in compose_config("train", "recipe=reference")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("stages.order=[ft]", r"stages\.order=\['ft'\]: must name each of stages\.steps"),
        ("stages.steps.ft.shared=true", r"stages\.steps\.ft\.shared=true: only the first"),
        ("stages.steps.ft.finetune=frozen", r"stages\.steps\.ft\.finetune=frozen: unknown value"),
        ("stages.steps.ft.lr_factor=0", r"stages\.steps\.ft\.lr_factor=0: must be positive"),
    ],
)
def test_bad_stage_settings_are_one_line_errors(override: str, message: str) -> None:
    cfg = compose_config("train", "model=vunet", "paths.output_dir=o", override)
    with pytest.raises(ConfigError, match=message):
        check_train_config(cfg)


def test_vunet_runs_tl_then_ft_in_each_fold(compose_train, tmp_path) -> None:
    cfg = compose_train(*tiny_overrides("vunet", stages=None), *SHORT, "+fold=0..1")
    summary = train(cfg)
    run = tmp_path / "run"
    for fold in (0, 1):
        tl, ft = run / f"fold_{fold}" / "tl", run / f"fold_{fold}" / "ft"
        assert _config(tl)["finetune"]["freeze"] == ["encoder"]
        assert _config(ft)["finetune"]["freeze"] == []
        assert _config(ft)["lr"] == pytest.approx(_config(tl)["lr"] / 2)
        assert _config(ft)["model"]["encoder_weights"] is None
        # Each fold's FT starts from its own fold's TL selection, and says so.
        assert _metrics(ft)["init_from"] == str(tl / "checkpoints" / "best.ckpt")
        assert (_metrics(tl)["stage"], _metrics(ft)["stage"]) == ("tl", "ft")
        assert _config(tl)["task_name"] == "vunet_tl"
    written = json.loads((run / "cv_summary.json").read_text())
    assert list(written["stages"]) == ["tl", "ft"]
    assert written["stages"]["tl"]["n_folds_run"] == 2
    ft_dice = {str(k): dice for k, dice in summary["folds"].items()}
    assert ft_dice == written["stages"]["ft"]["folds"] == written["folds"]
    assert "| tl |" in (run / "cv_summary.md").read_text()
    # Evaluate and predict find the model: each fold's last stage.
    found = resolve_checkpoints([str(run)], allow_partial=False)
    assert found == [run / f"fold_{k}" / "ft" / "checkpoints" / "best.ckpt" for k in (0, 1)]


def test_xunet_pretrains_once_for_every_fold_and_run(compose_train, tmp_path, cache_dir) -> None:
    overrides = [*tiny_overrides("xunet", stages=None), *SHORT, *SMALL_PRETRAIN]
    train(compose_train(*overrides, "+fold=0..1"))
    run = tmp_path / "run"
    starts = {_metrics(run / f"fold_{k}" / "ft")["init_from"] for k in (0, 1)}
    assert len(starts) == 1
    pretrained = Path(starts.pop())
    shared = pretrained.parent.parent
    assert shared.parent == cache_dir / "stages" and shared.name.startswith("pretrain-")
    assert _config(shared)["data"]["_target_"].endswith("SalientDataModule")
    assert _config(shared)["data"]["image_size"] == [32, 32]  # the fine-tuning frames' size
    assert _config(run / "fold_0" / "ft")["task_name"] == "xunet_ft_all"
    trained_at = pretrained.stat().st_mtime_ns
    # Another run with the same pre-training reuses it; another pre-training gets its own.
    other = tmp_path / "other"
    train(compose_train(*overrides, "+fold=0", f"paths.output_dir={other}"))
    assert _metrics(other / "ft")["init_from"] == str(pretrained)
    assert pretrained.stat().st_mtime_ns == trained_at
    changed = tmp_path / "changed"
    train(compose_train(*overrides, "+fold=0", "seed=7", f"paths.output_dir={changed}"))
    assert _metrics(changed / "ft")["init_from"] != str(pretrained)
    summary = json.loads((run / "cv_summary.json").read_text())
    assert summary["stages"]["pretrain"]["shared"] is True


def test_a_given_init_from_skips_the_shared_stage(compose_train, tmp_path, cache_dir) -> None:
    start = tmp_path / "start"
    train(compose_train(*tiny_overrides("xunet"), *SHORT, f"paths.output_dir={start}"))
    checkpoint = start / "checkpoints" / "best.ckpt"
    run = tmp_path / "run"
    overrides = [*tiny_overrides("xunet", stages=None), *SHORT, *SMALL_PRETRAIN, "seed=11"]
    train(compose_train(*overrides, f"init_from={checkpoint}", "init_allow_val_overlap=true"))
    assert _metrics(run / "ft")["init_from"] == str(checkpoint)
    assert json.loads((run / "stages.json").read_text())["order"] == ["pretrain", "ft"]
    assert not (run / "pretrain").exists()


def test_resume_continues_at_the_stage_where_it_stopped(compose_train, tmp_path) -> None:
    overrides = [*tiny_overrides("vunet", stages=None), *SHORT, "+fold=0", "trainer.max_epochs=2"]
    train(compose_train(*overrides))
    run = tmp_path / "run"
    tl_best = run / "tl" / "checkpoints" / "best.ckpt"
    tl_written = tl_best.stat().st_mtime_ns
    # FT interrupted after its first epoch: its last checkpoint is there, no metrics.json.
    (run / "ft" / "metrics.json").unlink()
    with pytest.raises(ConfigError, match=r"resume=true: lr changed .* \(.*run/tl\)"):
        train(compose_train(*overrides, "resume=true", "lr=1e-3"))
    assert not (run / "ft" / "metrics.json").exists()
    with pytest.raises(
        ConfigError,
        match=r"holds this run's stages \(tl finished, ft interrupted\); continue it with: .*",
    ):
        train(compose_train(*overrides))
    metrics = train(compose_train(*overrides, "resume=true"))
    assert tl_best.stat().st_mtime_ns == tl_written  # TL kept, not retrained
    assert metrics["stage"] == "ft" and metrics["epochs_run"] == 2
    assert _metrics(run / "ft")["init_from"] == str(tl_best)


def test_resume_with_nothing_started_says_so(compose_train, tmp_path) -> None:
    cfg = compose_train(*tiny_overrides("vunet", stages=None), "resume=true")
    with pytest.raises(ConfigError, match=r"resume=true: nothing to resume in .*run"):
        train(cfg)


def test_a_finetune_no_stage_uses_is_refused(compose_train) -> None:
    cfg = compose_train(*tiny_overrides("vunet", stages=None), "finetune=bottleneck_frozen")
    with pytest.raises(ConfigError, match=r"finetune=bottleneck_frozen: no stage of stages=vunet"):
        train(cfg)


def test_the_papers_single_split_tl_is_refused_unless_the_leak_is_accepted(
    compose_train, tmp_path
) -> None:
    overrides = [*tiny_overrides("vunet", stages="vunet_paper_split"), *SHORT, "+fold=0..1"]
    with pytest.raises(ConfigError, match=r"was trained on \d+ of this run's \d+ validation"):
        train(compose_train(*overrides))
    accepted = tmp_path / "accepted"
    train(compose_train(*overrides, "init_allow_val_overlap=true", f"paths.output_dir={accepted}"))
    starts = set()
    for fold in (0, 1):
        ft = _metrics(accepted / f"fold_{fold}" / "ft")
        # TL trained once on a holdout split of the same frames: most of each fold's
        # validation frames were TL training frames, and metrics.json says how many.
        assert 0 < ft["init_val_overlap"] <= ft["n_val"]
        starts.add(ft["init_from"])
    assert len(starts) == 1 and not (accepted / "fold_0" / "tl").exists()
