"""The quality benchmark end to end on a tiny configuration: same folds, files, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import compose_config, run_module

from lus_unet.compare.__main__ import compare
from lus_unet.errors import ConfigError
from lus_unet.run_folder import RunFolder


def hydra_list(*overrides: str) -> str:
    """A list of overrides as a Hydra override value (each one quoted)."""
    return "[" + ",".join(f'"{o}"' for o in overrides) + "]"


TINY_COMMON = "common=" + hydra_list(
    "data=lus",
    "data.synthetic.n_frames=8",
    "data.n_frames=null",
    "data.hflip_copies=false",
    "data.n_folds=2",
    "data.num_workers=0",
    "trainer.accelerator=cpu",
    "image_log_every_n_epochs=0",
    "distance_metrics_every_n_epochs=0",
    "++trainer.enable_progress_bar=false",
    "++trainer.enable_model_summary=false",
)
TINY_REFERENCE = hydra_list("recipe=reference", "model.features=[4,4,8,16,32,4]")
TINY_ENTRIES = [
    f"entries.reference={TINY_REFERENCE}",
    "entries.paper="
    + hydra_list("recipe=paper", "model.base_channels=4", "lr=1e-3", "stages=single"),
    # X-UNet's protocol, as make compare runs it: a (small) shared pre-training, then the budget.
    "entries.modern="
    + hydra_list(
        "recipe=modern",
        "model.base_channels=4",
        "stages.steps.pretrain.epochs=1",
        "stages.steps.pretrain.data.synthetic.n_images=8",
        "stages.steps.pretrain.data.batch_size=4",
    ),
]


def model_folder(run: Path, name: str, fold: int) -> Path:
    """The folder of an entry's fold model: the fold itself, or its last stage."""
    return RunFolder(run / name).fold(fold).final.path


def tiny_compare(run: Path, cache_dir: Path, *overrides: str):
    return compose_config(
        "compare",
        f"paths.output_dir={run}",
        f"paths.cache_dir={cache_dir}",
        TINY_COMMON,
        "budget.epochs=2",
        "budget.batch_size=2",
        "budget.image_size=[32,32]",
        "folds=[0,1]",
        *TINY_ENTRIES,
        *overrides,
    )


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> tuple[Path, dict]:
    run = tmp_path_factory.mktemp("compare") / "run"
    return run, compare(tiny_compare(run, cache_dir))


def test_compare_writes_results_for_every_entry(tiny_results):
    run, results = tiny_results
    saved = json.loads((run / "results.json").read_text())
    assert saved == json.loads(json.dumps(results))
    assert saved["reference"] == "reference"
    assert list(saved["entries"]) == ["reference", "paper", "modern"]
    for name, entry in saved["entries"].items():
        assert set(entry["folds"]) == {"0", "1"}
        fold_dice = [
            json.loads((model_folder(run, name, k) / "metrics.json").read_text()) for k in (0, 1)
        ]
        assert [entry["folds"][str(m["fold"])] for m in fold_dice] == [
            m["val_dice"] for m in fold_dice
        ]
        assert entry["mean"] == pytest.approx(sum(m["val_dice"] for m in fold_dice) / 2)
        assert entry["params"] == fold_dice[0]["params_total"]
        assert entry["seconds"] > 0
        assert all(len(curve) == 2 for curve in entry["history"].values())
    # Each entry really trained its own network at the shared budget.
    params = {name: entry["params"] for name, entry in saved["entries"].items()}
    assert len(set(params.values())) == 3
    config = json.loads(json.dumps(_config(model_folder(run, "modern", 1))))
    assert config["trainer"]["max_epochs"] == 2 and config["data"]["batch_size"] == 2
    assert config["model"]["norm"] == "instance" and config["recipe"]["name"] == "modern"
    table = (run / "results.md").read_text()
    assert "| reference |" in table and "vs reference" in table
    # The pre-training is reported once, apart from the budget's training seconds.
    assert set(saved["entries"]["modern"]["shared_stages"]) == {"pretrain"}
    assert saved["entries"]["paper"]["shared_stages"] == {}
    assert "`modern` starts every fold from its shared `pretrain` stage" in table
    png = (run / "curves.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_every_entry_sees_the_same_split(tiny_results):
    run, _ = tiny_results
    for fold in (0, 1):
        splits = {
            name: json.loads((model_folder(run, name, fold) / "split.json").read_text())["val"]
            for name in ("reference", "paper", "modern")
        }
        assert splits["reference"] == splits["paper"] == splits["modern"]


def test_an_entry_that_changes_the_split_is_refused(tmp_path, cache_dir):
    cfg = tiny_compare(
        tmp_path / "run",
        cache_dir,
        "folds=[0]",
        "budget.epochs=1",
        "entries.paper="
        + hydra_list("recipe=paper", "model.base_channels=4", "data.group_by=pos."),
        "~entries.modern",
    )
    # `common` comes after an overlay, but an overlay can still change keys `common` leaves
    # alone that define the split (here the grouping): the comparison must notice.
    with pytest.raises(ConfigError, match="other samples"):
        compare(cfg)


def test_resume_keeps_finished_folds_and_refuses_changed_settings(tiny_results, cache_dir):
    run, results = tiny_results
    again = compare(tiny_compare(run, cache_dir, "resume=true"))
    assert again["entries"]["modern"]["folds"] == results["entries"]["modern"]["folds"]
    with pytest.raises(ConfigError, match="another configuration"):
        compare(tiny_compare(run, cache_dir, "resume=true", "budget.epochs=3"))


def test_cli_refuses_an_unknown_reference(tmp_path):
    result = run_module(
        "lus_unet.compare", "reference=nope", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path
    )
    assert result.returncode == 1
    assert "reference=nope: not an entry; entries: reference" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def _config(fold_dir: Path) -> dict:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.load(fold_dir / "config.yaml"))
