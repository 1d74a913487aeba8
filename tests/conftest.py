"""Shared fixtures: tiny configurations composed through Hydra's compose API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from lus_unet.utils import CONFIG_DIR

# Small enough for seconds on a 2-core CPU; the topology is the real one.
TINY_DATA = [
    "data.image_size=[32,32]",
    "data.batch_size=4",
    "data.num_workers=0",
    "data.n_frames=null",
    "data.hflip_copies=true",
    "data.synthetic.n_frames=10",
    "trainer.accelerator=cpu",
    "trainer.max_epochs=1",
    "++trainer.enable_progress_bar=false",
    "++trainer.enable_model_summary=false",
]


def tiny_overrides(model: str = "xunet") -> list[str]:
    """Overrides that make a training run take seconds."""
    model_overrides = (
        ["model=xunet", "model.base_channels=4"]
        if model == "xunet"
        else ["model=vunet", "model.encoder_weights=null"]
    )
    return [*model_overrides, *TINY_DATA]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated-data cache for the whole session (generation happens once)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def compose_train(cache_dir: Path, tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose ``conf/train.yaml`` with overrides, writing into this test's tmp folder."""

    def _compose(*overrides: str, config_name: str = "train") -> DictConfig:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
            return compose(
                config_name,
                overrides=[
                    f"paths.output_dir={tmp_path / 'run'}",
                    f"paths.cache_dir={cache_dir}",
                    *overrides,
                ],
            )

    return _compose
