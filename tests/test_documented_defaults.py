"""The defaults the README states for data sizes, despeckling and checkpoint selection, composed.

README sections "Data" (dataset size, preprocessing) and "Checkpoint selection": each stated
default is read back from the composed configuration here, so the text and the configs cannot
drift apart silently.
"""

from __future__ import annotations

import pytest
from conftest import compose_config

from lus_unet.compare.runner import fold_config

OUT = "paths.output_dir=out"


def train_cfg(*overrides: str):
    return compose_config("train", OUT, *overrides)


def test_a_folder_is_used_whole_by_default():
    for cfg in (train_cfg(), train_cfg("data.root=null"), compose_config("check")):
        data = cfg.data
        assert (data.n_frames, data.hflip_copies, data.frames_file) == (None, False, None)
    assert train_cfg().data_size == "lus_all"
    assert train_cfg("size=all").data == train_cfg().data


@pytest.mark.parametrize(
    ("size", "n_frames", "hflip", "name"),
    [
        ("lus200", 200, False, "lus200"),
        ("lus400", 200, True, "lus400"),
        ("lus600", 300, True, "lus600"),
    ],
)
def test_the_papers_sizes_are_chosen_explicitly(size, n_frames, hflip, name):
    cfg = train_cfg(f"size={size}")
    assert (cfg.data.n_frames, cfg.data.hflip_copies, cfg.data_size) == (n_frames, hflip, name)
    assert cfg.trainer.max_epochs == (150 if size == "lus600" else train_cfg().trainer.max_epochs)


def test_make_train_keeps_the_papers_400():
    cfg = train_cfg("experiment=quickstart")
    assert (cfg.data.n_frames, cfg.data.hflip_copies, cfg.data_size) == (200, True, "lus400")
    assert cfg.data.root is None  # the embedded synthetic set
    assert list(cfg.data.image_size) == [128, 128] and cfg.trainer.max_epochs == 25


@pytest.mark.parametrize(
    ("overrides", "despeckle", "monitor"),
    [
        ((), "auto", "val/loss"),  # recipe=paper, the default
        (("recipe=paper",), "auto", "val/loss"),
        (("recipe=modern",), False, "val/dice"),
        (("model=reference", "recipe=reference"), False, "val/dice"),
        (("experiment=quickstart",), "auto", "val/loss"),
    ],
)
def test_recipe_defaults_for_despeckling_and_checkpoint_selection(overrides, despeckle, monitor):
    cfg = train_cfg(*overrides)
    assert cfg.data.preprocess.despeckle == despeckle
    assert cfg.recipe.despeckle == despeckle
    assert cfg.checkpoint.monitor == monitor
    assert "mode" not in cfg.checkpoint  # follows from the metric


def test_overrides_beat_the_recipe():
    cfg = train_cfg(
        "recipe=paper", "checkpoint.monitor=val/dice", "data.preprocess.despeckle=false"
    )
    assert (cfg.checkpoint.monitor, cfg.data.preprocess.despeckle) == ("val/dice", False)


def test_compare_scores_the_best_dice_epoch_whatever_the_recipe(tmp_path):
    cfg = compose_config("compare", OUT, 'common=["data=lus","trainer=cpu"]')  # a user's own
    paper = fold_config(cfg, list(cfg.entries.paper), 0, tmp_path)
    assert paper.recipe.name == "paper" and paper.checkpoint.monitor == "val/dice"
