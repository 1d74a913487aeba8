"""Recipes: what each one sets, and that each composes with every experiment preset."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import compose_config
from omegaconf import OmegaConf

from lus_unet.utils import CONFIG_DIR

EXPERIMENTS = sorted(
    p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml") if p.stem != "paper_stage"
)


def test_paper_is_the_default_and_holds_the_papers_choices():
    cfg = compose_config("train")
    assert cfg.recipe.name == "paper"
    assert (cfg.model.norm, cfg.model.activation) == ("none", "relu")
    assert cfg.loss == "dice" and cfg.lr == pytest.approx(1e-5)
    assert cfg.optimizer.name == "adam" and cfg.optimizer.weight_decay == 0
    assert cfg.scheduler.name == "none" and cfg.scheduler.warmup_epochs == 0
    # Despeckling as the paper: raw frames, not 8-bit exports despeckled when made.
    assert cfg.data.augment == "keras" and cfg.data.preprocess.despeckle == "auto"
    assert cfg.trainer.gradient_clip_val is None
    assert cfg.checkpoint.monitor == "val/loss"  # the authors' code: lowest validation loss


def test_modern_recipe_settings():
    cfg = compose_config("train", "recipe=modern")
    assert (cfg.model.norm, cfg.model.activation) == ("instance", "leaky_relu")
    assert cfg.loss == "dice_ce" and cfg.optimizer.name == "adamw"
    assert cfg.scheduler.name == "cosine" and cfg.scheduler.warmup_epochs > 0
    assert cfg.data.preprocess.despeckle is False
    assert cfg.checkpoint.monitor == "val/dice"


def test_reference_recipe_is_design_section_6():
    cfg = compose_config("train", "model=reference", "recipe=reference")
    assert cfg.model.name == "reference" and list(cfg.model.features) == [16, 16, 32, 64, 128, 16]
    assert cfg.loss == "dice_ce" and cfg.lr == pytest.approx(1e-3)
    assert cfg.optimizer.name == "adam" and cfg.scheduler.name == "none"
    assert cfg.data.augment == "hflip" and cfg.data.preprocess.despeckle is False
    assert cfg.checkpoint.monitor == "val/dice"  # the best epoch's validation Dice


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_a_recipe_composes_with_every_experiment(experiment):
    paper = compose_config("train", f"experiment={experiment}")
    modern = compose_config("train", f"experiment={experiment}", "recipe=modern")
    # The recipe changes how the network trains, never the experiment's data or model.
    assert modern.model.name == paper.model.name
    assert data_without_recipe_keys(modern) == data_without_recipe_keys(paper)
    assert modern.model.norm == "instance" and modern.optimizer.name == "adamw"
    # Overrides beat the recipe, key by key.
    cfg = compose_config("train", f"experiment={experiment}", "recipe=modern", "model.norm=batch")
    assert cfg.model.norm == "batch" and cfg.loss == modern.loss


def data_without_recipe_keys(cfg) -> dict:
    data = OmegaConf.to_container(cfg.data, resolve=True)
    data.pop("augment")
    data.get("preprocess", {}).pop("despeckle", None)
    return data
