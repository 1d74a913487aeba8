"""Shared fixtures: tiny configurations composed through Hydra's compose API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from lus_unet.train import train
from lus_unet.utils import CONFIG_DIR, PROJECT_ROOT

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


def tiny_overrides(model: str = "xunet", stages: str | None = "single") -> list[str]:
    """Overrides that make a training run take seconds.

    Args:
        model: ``xunet`` or ``vunet``.
        stages: a ``conf/stages`` option (default ``single``: one stage, the machinery most
            tests exercise); None keeps the model's own protocol.
    """
    model_overrides = (
        ["model=xunet", "model.base_channels=4"]
        if model == "xunet"
        else ["model=vunet", "model.encoder_weights=null"]
    )
    chosen = [] if stages is None else [f"stages={stages}"]
    return [*model_overrides, *chosen, *TINY_DATA]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated-data cache for the whole session (generation happens once)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def compose_train(cache_dir: Path, tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose ``conf/train.yaml`` with overrides, writing into this test's tmp folder."""

    def _compose(*overrides: str, config_name: str = "train") -> DictConfig:
        return compose_config(config_name, *run_paths(tmp_path / "run", cache_dir), *overrides)

    return _compose


def compose_config(config_name: str, *overrides: str) -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with overrides."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return compose(config_name, overrides=list(overrides))


def run_paths(output_dir: Path, cache_dir: Path) -> list[str]:
    """Overrides that make a training run write into ``output_dir`` and use the test cache."""
    return [f"paths.output_dir={output_dir}", f"paths.cache_dir={cache_dir}"]


@pytest.fixture(scope="session")
def tiny_cv_run(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """A finished tiny two-fold cross-validation run (``+fold=0..1``), trained once per session.

    One epoch at a high learning rate: the two fold models then clearly differ.
    """
    run = tmp_path_factory.mktemp("tiny_cv") / "run"
    train(
        compose_config(
            "train", *run_paths(run, cache_dir), *tiny_overrides(), "lr=3e-3", "+fold=0..1"
        )
    )
    return run


def _user_env() -> dict[str, str]:
    """The environment of a user's shell: the project importable, no HYDRA_FULL_ERROR."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("HYDRA_FULL_ERROR", None)
    return env


def run_module(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <module> <args>`` in ``cwd`` as a user would, output captured."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=_user_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


CliCall = tuple[str, Sequence[str], dict[str, str]]  # module, arguments, extra environment


def run_modules(calls: Sequence[CliCall], cwd: Path) -> list[subprocess.CompletedProcess[str]]:
    """Run several ``python -m`` calls in one interpreter (``tests/cli_batch.py``), in order.

    Each call runs its module as ``__main__`` with its own arguments, environment and captured
    output, as :func:`run_module` would, but the imports (seconds each time) are paid once.
    """
    calls_file, results_file = cwd / ".cli_calls.json", cwd / ".cli_results.json"
    payload = [{"module": m, "args": list(a), "env": e} for m, a, e in calls]
    calls_file.write_text(json.dumps(payload))
    driver = Path(__file__).with_name("cli_batch.py")
    process = subprocess.run(
        [sys.executable, str(driver), str(calls_file), str(results_file)],
        cwd=cwd,
        env=_user_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    results = json.loads(results_file.read_text())
    return [
        subprocess.CompletedProcess(
            [sys.executable, "-m", module, *args], r["returncode"], r["stdout"], r["stderr"]
        )
        for (module, args, _), r in zip(calls, results, strict=True)
    ]
