"""The data checker in process: its config, the embedded default sets, the spec registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from lus_unet.check import check_folder, format_report
from lus_unet.config.data import CheckConfig
from lus_unet.config.validate import validate
from lus_unet.data.spec import SPECS, LUSSpec, SalientSpec, spec_from_config
from lus_unet.errors import ConfigError
from lus_unet.utils import CONFIG_DIR


def check_config(cache_dir: Path, *overrides: str):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose("check", overrides=[f"paths.cache_dir={cache_dir}", *overrides])


def check_spec(cache_dir: Path, *overrides: str):
    cfg = check_config(cache_dir, *overrides)
    return spec_from_config(OmegaConf.to_container(cfg.data, resolve=True), seed=cfg.seed)


def test_checks_the_embedded_lus_set_by_default(cache_dir):
    spec = check_spec(
        cache_dir, "data.synthetic.n_frames=10", "data.image_size=[32,32]", "size=all"
    )
    assert isinstance(spec, LUSSpec) and spec.root is None
    spec.prepare()
    report = check_folder(spec)
    assert report.problems == [] and report.frames == 10 and report.stacks == 0
    assert report.counts["frame kinds"] == {"linear": 10}
    assert report.counts["MAT variables (images)"] == {"frame": 10}
    text = format_report(report, spec)
    assert "960x128 (10)" in text and text.splitlines()[-1].split() == ["problems", "0"]


def test_checks_the_embedded_salient_set_with_its_default_size(cache_dir):
    spec = check_spec(cache_dir, "data=salient", "data.synthetic.n_images=6")
    assert isinstance(spec, SalientSpec) and spec.n_frames is None and not spec.hflip_copies
    spec.prepare()
    report = check_folder(spec)
    assert report.problems == [] and report.frames == 6
    assert report.counts["frame kinds"] == {"log": 6}
    assert report.split is not None and "of 6 samples" in report.split


def test_training_sampling_the_folder_cannot_meet_is_a_problem(cache_dir):
    spec = check_spec(cache_dir, "data.synthetic.n_frames=10", "size=lus400")
    spec.prepare()
    report = check_folder(spec)
    assert report.problems == [
        "data.n_frames=200: the data set has 10 frames (size=all uses every frame)"
    ]


def test_a_folder_is_checked_whole_by_default(cache_dir):
    spec = check_spec(cache_dir, "data.synthetic.n_frames=10")  # no size: every frame, once
    spec.prepare()
    report = check_folder(spec)
    assert report.problems == [] and report.split == "8 train / 2 val of 10 samples " + (
        "(grouped, holdout 0.2, 10 groups)"
    )


def test_registry_matches_the_data_modules_and_refuses_others(cache_dir):
    from lus_unet.data.lus_datamodule import LUSDataModule
    from lus_unet.data.salient_datamodule import SalientDataModule

    for module in (LUSDataModule, SalientDataModule):
        assert SPECS[f"{module.__module__}.{module.__qualname__}"] is module.spec_class
    # The checker's schema refuses any other data module before a spec is built.
    cfg = check_config(cache_dir, "data._target_=my.DataModule")
    with pytest.raises(ConfigError, match=r"^data\._target_=my\.DataModule: unknown value; val"):
        validate(cfg, CheckConfig)
