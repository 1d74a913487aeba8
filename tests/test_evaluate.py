"""``lus_unet.evaluate``: per-case CSV and summaries, consistent with training's validation."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import hydra
import lightning as L
import pytest
import torch
from conftest import compose_config

from lus_unet.errors import ConfigError
from lus_unet.evaluate import evaluate
from lus_unet.evaluation.checkpoints import load_checkpoint
from lus_unet.metrics.case import CHEAP_METRICS, DISTANCE_METRICS
from lus_unet.report.collect import collect_runs
from lus_unet.training.module import SegmentationModule

FOLDS = ("fold_0", "fold_1")


def _evaluate(checkpoint: object, *overrides: str) -> dict:
    return evaluate(compose_config("evaluate", f"checkpoint={checkpoint}", *overrides))


def _rows(out_dir: Path) -> list[dict[str, str]]:
    with (Path(out_dir) / "cases.csv").open() as handle:
        return list(csv.DictReader(handle))


def _metrics_json(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def test_a_run_folder_is_evaluated_on_its_validation_split_as_in_training(tiny_cv_run, tmp_path):
    run = tiny_cv_run / "fold_0"
    summary = _evaluate(run, f"output_dir={tmp_path / 'eval'}")
    out = tmp_path / "eval"
    split = json.loads((run / "split.json").read_text())
    rows = _rows(out)
    assert [r["id"] for r in rows] == split["val"]  # one row per validation sample, in order
    assert any(r["flipped"] == "True" for r in rows)
    assert set(rows[0]) >= {*CHEAP_METRICS, "hd95_px", "assd_px"}
    trained = _metrics_json(run)
    # The strong consistency check: every validation metric training logged, recomputed.
    logged = [k.removeprefix("val_") for k in trained if k.startswith("val_") and k != "val_loss"]
    assert {"dice", "precision", "hd95_px"} <= set(logged)
    for name in logged:
        assert summary["metrics"][name]["mean"] == pytest.approx(trained[f"val_{name}"], abs=1e-5)
    saved = json.loads((out / "summary.json").read_text())
    assert saved["n_cases"] == len(split["val"])
    assert saved["metrics"]["dice"]["median"] == summary["metrics"]["dice"]["median"]
    dice = sorted(float(r["dice"]) for r in rows)
    assert [c["dice"] for c in saved["worst_cases"]] == pytest.approx(dice[:10])
    markdown = (out / "summary.md").read_text()
    assert "| dice |" in markdown and "Worst cases (lowest Dice)" in markdown
    assert (out / "config.yaml").is_file()


def test_a_cv_folder_evaluates_each_fold_model_on_its_own_fold(tiny_cv_run, tmp_path):
    summary = _evaluate(tiny_cv_run, f"output_dir={tmp_path / 'eval'}")
    rows = _rows(tmp_path / "eval")
    for fold in FOLDS:
        split = json.loads((tiny_cv_run / fold / "split.json").read_text())
        assert [r["id"] for r in rows if r["model"] == fold] == split["val"]
        dice = summary["per_model"][fold]["metrics"]["dice"]["mean"]
        assert dice == pytest.approx(_metrics_json(tiny_cv_run / fold)["val_dice"], abs=1e-5)
    assert summary["n_cases"] == len(rows)


def test_a_data_folder_is_evaluated_whole_by_the_ensemble(tiny_cv_run, cache_dir, tmp_path):
    root = json.loads((tiny_cv_run / "fold_0" / "split.json").read_text())["data_root"]
    summary = _evaluate(
        tiny_cv_run,
        f"data.root={root}",
        "resolution=original",
        "spacing_mm=[0.5,0.25]",
        f"output_dir={tmp_path / 'eval'}",
    )
    rows = _rows(tmp_path / "eval")
    assert len(rows) == 10  # every frame of the folder, no flip copies
    assert {r["model"] for r in rows} == {"ensemble_of_2"}
    assert set(rows[0]) >= set(DISTANCE_METRICS)
    assert all(float(r["hd95_mm"]) <= 0.5 * float(r["hd95_px"]) + 1e-9 for r in rows)
    assert summary["resolution"] == "original" and summary["spacing_mm"] == [0.5, 0.25]


def test_outputs_go_next_to_the_run_and_never_overwrite(tiny_cv_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_cv_run / "fold_1", run)
    first = _evaluate(run)["output_dir"]
    second = _evaluate(run / "checkpoints" / "best.ckpt")["output_dir"]
    assert first != second
    assert Path(first).parent == Path(second).parent == run / "evaluation"
    with pytest.raises(ConfigError, match="already exists"):
        _evaluate(run, f"output_dir={first}")


def test_an_evaluation_inside_a_run_is_not_reported_as_a_run(tiny_cv_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_cv_run / "fold_0", run)
    _evaluate(run)  # writes <run>/evaluation/<time>/config.yaml
    assert [(r.path, r.finished) for r in collect_runs(tmp_path)] == [(run, True)]


def test_without_split_json_the_data_folder_must_be_given(tiny_cv_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_cv_run / "fold_0" / "checkpoints", run / "checkpoints")
    with pytest.raises(ConfigError, match=r"split\.json not found.*data\.root"):
        _evaluate(run)
    assert not (run / "evaluation").exists()


def test_overlapping_validation_splits_are_refused(tiny_cv_run, tmp_path):
    best = tiny_cv_run / "fold_0" / "checkpoints" / "best.ckpt"
    last = tiny_cv_run / "fold_0" / "checkpoints" / "last.ckpt"
    with pytest.raises(ConfigError, match="validation split of both"):
        _evaluate(f"[{best},{last}]", f"output_dir={tmp_path / 'eval'}")


def _sharpened_run(source: Path, tmp_path: Path, gain: float = 50.0) -> Path:
    """A copy of a run whose head is rescaled around its 95th-percentile logit: about 5% of pixels
    become rib, so the masks have edges, holes and blobs (a 1-epoch model predicts all rib)."""
    run = tmp_path / "sharp"
    shutil.copytree(source, run)
    path = run / "checkpoints" / "best.ckpt"
    loaded = load_checkpoint(path)
    datamodule = _datamodule(loaded.run_config)
    with torch.no_grad():
        logits = torch.cat([loaded.net(b["image"]) for b in datamodule.val_dataloader()])
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    state = checkpoint["state_dict"]
    state["net.head.weight"] = state["net.head.weight"] * gain
    state["net.head.bias"] = (state["net.head.bias"] - logits.quantile(0.95)) * gain
    torch.save(checkpoint, path)
    return run


def _datamodule(run_config: dict) -> L.LightningDataModule:
    """The run's data module, built as the train entry point builds it."""
    datamodule = hydra.utils.instantiate(
        run_config["data"], fold=run_config["fold"], seed=run_config["seed"], _convert_="all"
    )
    datamodule.prepare_data()
    datamodule.setup("validate")
    return datamodule


def test_evaluate_equals_lightning_validation_on_nontrivial_masks(tiny_cv_run, tmp_path):
    run = _sharpened_run(tiny_cv_run / "fold_1", tmp_path)
    loaded = load_checkpoint(run / "checkpoints" / "best.ckpt")
    module = SegmentationModule(loaded.net, run_config=loaded.run_config)
    trainer = L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False
    )
    validated = trainer.validate(module, datamodule=_datamodule(loaded.run_config))[0]
    summary = _evaluate(run, f"output_dir={tmp_path / 'eval'}")
    means = {name: s["mean"] for name, s in summary["metrics"].items()}
    assert 0.05 < means["recall"] < 0.95  # neither all rib nor none
    assert summary["metrics"]["contour_length_ratio"]["sd"] > 0
    assert {f"val/{name}" for name in means} == set(validated) - {"val/loss"}
    for name, mean in means.items():
        assert mean == pytest.approx(validated[f"val/{name}"], abs=1e-5), name


def test_a_changed_preprocessing_is_reported(tiny_cv_run, tmp_path, caplog):
    run = tmp_path / "run"
    shutil.copytree(tiny_cv_run / "fold_0", run)
    split = json.loads((run / "split.json").read_text())
    split["preprocess"]["version"] = 0  # as if written by an older preprocessing algorithm
    (run / "split.json").write_text(json.dumps(split))
    with caplog.at_level("WARNING"):
        _evaluate(run)
    assert "Preprocessing differs from the run's" in caplog.text
