"""Transfer-learning workflow: init_from chaining, leak guard, sweeps, launchers, the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import tiny_overrides
from folders import make_folder
from omegaconf import OmegaConf
from test_train import run_cli

from lus_unet.errors import ConfigError, WeightsError
from lus_unet.models import build_model
from lus_unet.paper import GRID, DataFolders, Job, job_command, run_grid
from lus_unet.report.__main__ import build_report
from lus_unet.train import train
from lus_unet.training.init import initialize_from, network_state_dict

# One real epoch on two batches: enough to write best.ckpt (fast_dev_run writes none).
SHORT = ["trainer.max_epochs=1", "+trainer.limit_train_batches=2", "+trainer.limit_val_batches=2"]


@pytest.fixture
def tl_run(compose_train, tmp_path) -> Path:
    """A finished tiny X-UNet run (holdout split) with its checkpoints."""
    train(compose_train(*tiny_overrides("xunet"), *SHORT))
    return tmp_path / "run"


def test_init_from_loads_exactly_the_checkpoint_weights(tl_run: Path) -> None:
    checkpoint = tl_run / "checkpoints" / "best.ckpt"
    net = build_model("xunet", base_channels=4)
    report = initialize_from(net, checkpoint)
    saved = network_state_dict(checkpoint)
    assert report.complete and len(report.loaded) == len(saved)
    for name, tensor in net.state_dict().items():
        assert torch.equal(tensor, saved[name]), name
    # Lightning's own bookkeeping (optimizer state) is not model state: nothing else loaded.
    assert set(saved) == set(net.state_dict())


def test_mismatched_checkpoint_is_rejected_unless_partial(tl_run: Path) -> None:
    checkpoint = tl_run / "checkpoints" / "best.ckpt"
    with pytest.raises(WeightsError, match=r"shape mismatch: encoder\.blocks\.0\.0\.weight"):
        initialize_from(build_model("xunet", base_channels=8), checkpoint)
    deeper = build_model("xunet", base_channels=4, decoder_convs=(3, 2, 2, 2))
    with pytest.raises(WeightsError, match=r"missing in checkpoint: decoder\.levels\.0\.convs\.4"):
        initialize_from(deeper, checkpoint)
    before = deeper.decoder.levels[0].convs[4].weight.detach().clone()
    report = initialize_from(deeper, checkpoint, partial=True)
    assert report.missing == ["decoder.levels.0.convs.4.bias", "decoder.levels.0.convs.4.weight"]
    assert torch.equal(deeper.decoder.levels[0].convs[4].weight, before)  # left as initialised
    assert torch.equal(deeper.head.weight, network_state_dict(checkpoint)["head.weight"])


def test_train_refuses_a_missing_init_checkpoint_and_says_how_to_make_it(compose_train, tmp_path):
    cfg = compose_train(
        *tiny_overrides("xunet"),
        f"init_from={tmp_path / 'nope.ckpt'}",
        "init_created_by='python -m lus_unet.train experiment=xunet_pretrain'",
    )
    with pytest.raises(ConfigError, match=r"Create it with: python -m lus_unet\.train experiment"):
        train(cfg)
    assert not (tmp_path / "run" / "split.json").exists()


def test_fine_tuning_refuses_init_weights_that_saw_its_validation_frames(
    compose_train, tl_run, tmp_path
):
    checkpoint = tl_run / "checkpoints" / "best.ckpt"
    overrides = [*tiny_overrides("xunet"), *SHORT, f"init_from={checkpoint}", "+fold=0"]
    ft = tmp_path / "ft"
    leak = r"was trained on \d+ of this run's \d+ validation samples"
    with pytest.raises(ConfigError, match=leak):
        train(compose_train(*overrides, f"paths.output_dir={ft}"))
    metrics = train(
        compose_train(*overrides, f"paths.output_dir={ft}", "init_allow_val_overlap=true")
    )
    assert metrics["fold"] == 0


def test_stage_presets_chain_by_fold(compose_train) -> None:
    cfg = compose_train("experiment=vunet_ft", "size=lus200", "+fold=3", "paths.paper_dir=P")
    assert cfg.init_from == "P/vunet_tl/lus200/fold_3/checkpoints/best.ckpt"
    hint = "experiment=vunet_tl data.n_frames=200 data.hflip_copies=false +fold=3"
    assert hint in cfg.init_created_by
    assert cfg.lr == 5e-6 and cfg.model.encoder_weights is None
    tl = compose_train("experiment=vunet_tl", "size=lus600")
    assert tl.finetune.freeze == ["encoder"] and tl.lr == 1e-5
    assert tl.data.n_frames == 300 and tl.data.hflip_copies and tl.trainer.max_epochs == 150


def test_paper_grid_commands_cover_table_1() -> None:
    cells = {(job.model, job.finetune, size) for job in GRID for size in job.sizes}
    assert cells == {
        ("vunet", "all", "lus200"), ("vunet", "all", "lus400"), ("xunet", "all", "lus400"),
        ("xunet", "all", "lus600"), ("xunet", "bottleneck_frozen", "lus400"),
    }  # fmt: skip
    data = DataFolders(lus_root="/data/lus", xpie_root="/data/XPIE")
    vunet = job_command(GRID[0], "cpu", "out/p", 5, "joblib", ["seed=1"], data)
    assert vunet[2:5] == ["lus_unet.train", "-m", "model=vunet"]
    expected = {"size=lus200,lus400", "+fold=range(5)", "hydra/launcher=joblib", "seed=1",
                "data.root=/data/lus", "hydra.sweep.dir=out/p/vunet_all"}  # fmt: skip
    assert expected <= set(vunet)
    assert not [arg for arg in vunet if "pretrain" in arg]
    xunet = job_command(GRID[2], "cpu", "out/p", 5, None, [], data)
    assert {"finetune=bottleneck_frozen", "data.root=/data/lus",
            "stages.steps.pretrain.data.root=/data/XPIE",
            "stages.steps.pretrain.data.image_dir=Images",
            "stages.steps.pretrain.data.mask_dir=Grounds"} <= set(xunet)  # fmt: skip
    embedded = job_command(GRID[1], "cpu", "out/p", 5, None, [])
    assert not [arg for arg in embedded if "root=" in arg]


def test_sweep_of_a_two_by_two_grid_gives_the_report_rows(tmp_path, cache_dir):
    sweep = tmp_path / "sweep"
    result = run_cli(
        "-m",
        *tiny_overrides("xunet"),
        *SHORT,
        "finetune=all,bottleneck_frozen",
        "+fold=range(2)",
        f"hydra.sweep.dir={sweep}",
        f"paths.cache_dir={cache_dir}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # One job dies before training: the report must list it and still build.
    failed = sweep / "99"
    (failed / ".hydra").mkdir(parents=True)
    (failed / ".hydra" / "overrides.yaml").write_text("- finetune=broken\n")
    out = build_report(sweep, tmp_path / "report", n_rows=2)
    table = (out / "table1.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| train ")]
    assert len(rows) == 2
    assert all("| 2 |" in row for row in rows)  # two folds each
    assert "1 run(s) did not finish" in table and "finetune=broken" in table
    csv_lines = (out / "table1.csv").read_text().strip().splitlines()
    assert len(csv_lines) == 3
    dice = [json.loads(p.read_text())["val_dice"] for p in sweep.glob("*/metrics.json")]
    assert len(dice) == 4
    assert (out / "comparison.png").stat().st_size > 0


def test_joblib_launcher_runs_two_jobs(tmp_path, cache_dir):
    sweep = tmp_path / "joblib"
    result = run_cli(
        "-m",
        *tiny_overrides("xunet"),
        "+trainer.fast_dev_run=true",
        "+fold=0,1",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep}",
        f"paths.cache_dir={cache_dir}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Joblib" in result.stdout + result.stderr
    assert sorted(json.loads(p.read_text())["fold"] for p in sweep.glob("*/metrics.json")) == [0, 1]


def test_mini_paper_grid_chains_pretraining_into_fine_tuning(tmp_path, cache_dir):
    paper_dir = tmp_path / "paper"
    jobs = (Job("xunet", "all", ("lus400",)),)
    extra = [f"paths.cache_dir={cache_dir}", "+trainer.limit_train_batches=2",
             "+trainer.limit_val_batches=2", "trainer.max_epochs=1",
             "stages.steps.pretrain.epochs=1"]  # fmt: skip
    failed = run_grid("cpu", str(paper_dir), n_folds=2, extra=extra, jobs=jobs)
    assert failed == []
    starts = set()
    for fold in (0, 1):
        run = paper_dir / "xunet_all" / "lus400" / f"fold_{fold}" / "ft"
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["fold"] == fold
        starts.add(metrics["init_from"])
    (pretrained,) = starts  # one shared pre-training for both folds
    assert Path(pretrained).is_file() and Path(pretrained).is_relative_to(cache_dir)
    table = (build_report(paper_dir, tmp_path / "report", figure=False) / "table1.md").read_text()
    assert "| xunet_pretrain salient |" in table and "| xunet_ft_all lus400 |" in table


def test_paper_grid_reads_the_lus_and_salient_folders_it_is_given(tmp_path, cache_dir):
    lus, xpie = tmp_path / "lus", tmp_path / "XPIE"
    lus_ids = make_folder(lus, n=10, size=(48, 32))
    make_folder(xpie, n=8, size=(40, 40), image_suffix=".jpg", image_dir="Images",
                mask_dir="Grounds")  # fmt: skip
    paper_dir = tmp_path / "paper"
    extra = [f"paths.cache_dir={cache_dir}", "trainer.max_epochs=1",
             "stages.steps.pretrain.epochs=1", "data.batch_size=4",
             "stages.steps.pretrain.data.batch_size=4"]  # fmt: skip
    data = DataFolders(lus_root=str(lus), xpie_root=str(xpie))
    jobs = (Job("xunet", "all", ("all",)),)
    assert run_grid("cpu", str(paper_dir), n_folds=2, extra=extra, jobs=jobs, data=data) == []
    for fold in (0, 1):
        ft = paper_dir / "xunet_all" / "lus_all" / f"fold_{fold}" / "ft"
        split = json.loads((ft / "split.json").read_text())
        assert set(split["train"]) | set(split["val"]) == set(lus_ids)
        pretrain = Path(json.loads((ft / "metrics.json").read_text())["init_from"]).parent.parent
        pretrained_on = OmegaConf.load(pretrain / "config.yaml").data
        assert (pretrained_on.root, pretrained_on.image_dir) == (str(xpie), "Images")
