"""The paper grid trains in fp32 unless the bf16 profile is chosen, and Table 1 says which."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import compose_config

from lus_unet.paper import load_profile
from lus_unet.report.collect import Run
from lus_unet.report.table import precision_note


@pytest.mark.parametrize(("profile", "precision"), [("gpu", "32-true"), ("gpu_bf16", "bf16-mixed")])
def test_paper_profiles_set_the_training_precision(profile: str, precision: str) -> None:
    overrides = [str(o) for o in load_profile(profile).all]
    cfg = compose_config("train", "experiment=vunet_tl", *overrides)
    assert cfg.trainer.precision == precision


def test_the_bf16_profile_writes_to_its_own_folder() -> None:
    assert load_profile("gpu_bf16").paper_dir != load_profile("gpu").paper_dir


def _run(precision: str | None, finished: bool = True) -> Run:
    config = {} if precision is None else {"trainer": {"precision": precision}}
    return Run(Path("r"), config, {"val_dice": 0.5} if finished else None, [])


def test_table_1_names_the_precision_of_its_finished_runs() -> None:
    runs = [_run("32-true"), _run("32-true"), _run("bf16-mixed"), _run("16-mixed", False)]
    assert precision_note(runs) == "Training precision: 32-true (2 runs), bf16-mixed (1 runs).\n"
    assert precision_note([_run(None)]) == "Training precision: ? (1 runs).\n"
