"""Trainer configurations (cpu, gpu, ddp) and data-parallel training on two CPU processes."""

from __future__ import annotations

import json
from pathlib import Path

import hydra
import lightning as L
import pytest
import torch
from conftest import compose_config, run_module, tiny_overrides
from lightning.pytorch.strategies import DDPStrategy
from omegaconf import OmegaConf

from lus_unet.metrics.batch import binarize, dice_per_image
from lus_unet.models import build_model
from lus_unet.training.losses import SegmentationLoss
from lus_unet.training.performance import PerformanceCallback


@pytest.fixture
def restore_cudnn_benchmark():
    """Trainer(benchmark=...) sets a process-wide flag: put it back after the test."""
    before = torch.backends.cudnn.benchmark
    yield
    torch.backends.cudnn.benchmark = before


@pytest.mark.usefixtures("restore_cudnn_benchmark")
@pytest.mark.parametrize("name", ["default", "cpu", "gpu", "ddp"])
def test_every_key_of_each_trainer_config_is_consumed(name):
    cfg = compose_config("train", f"trainer={name}")
    args = OmegaConf.to_container(cfg.trainer, resolve=True)
    performance = OmegaConf.to_container(cfg.performance)  # not a Trainer argument
    callbacks = [PerformanceCallback(**performance)]
    if args["accelerator"] == "gpu" and not torch.cuda.is_available():
        args["accelerator"] = "cpu"  # the rest of the config must still be accepted
    # An unknown key raises TypeError here: every key is a Trainer or callback argument.
    trainer = L.Trainer(**args, logger=False, enable_checkpointing=False, callbacks=callbacks)
    if name in ("gpu", "ddp"):
        assert trainer.precision == "bf16-mixed"
        assert torch.backends.cudnn.benchmark
    assert performance == {"channels_last": True, "compile": False}
    if name == "ddp":
        assert isinstance(trainer.strategy, DDPStrategy)
        assert trainer.num_nodes == 1


def test_performance_callback_sets_channels_last_and_compiles_in_place():
    net = build_model("xunet", base_channels=4)
    module = L.LightningModule()
    module.net = net
    names = [name for name, _ in net.named_parameters()]
    PerformanceCallback(channels_last=True, compile=True).setup(None, module, "fit")
    conv = net.head
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert net._compiled_call_impl is not None
    assert [name for name, _ in net.named_parameters()] == names  # checkpoints unchanged


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_reduces_metrics_and_writes_once(tmp_path, cache_dir):
    run = tmp_path / "ddp"
    overrides = [*tiny_overrides("xunet"), "lr=3e-3", f"paths.cache_dir={cache_dir}"]
    result = run_module(
        "lus_unet.train",
        "trainer=ddp",
        *overrides,
        "trainer.devices=2",
        "trainer.precision=32-true",  # the single-process check below recomputes in fp32
        f"hydra.run.dir={run}",
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "MEMBER: 2/2" in output  # the second process joined

    # One run folder, written once: no second folder, no per-rank checkpoints or metrics.
    assert [p.name for p in tmp_path.iterdir()] == ["ddp"]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    assert [p.relative_to(run) for p in run.rglob("metrics.json")] == [Path("metrics.json")]
    assert [p.relative_to(run) for p in run.rglob(".hydra")] == [Path(".hydra")]
    metrics = json.loads((run / "metrics.json").read_text())
    split = json.loads((run / "split.json").read_text())
    assert metrics["n_val"] == len(split["val"]) == 4

    # Recompute the validation metrics of the best checkpoint in one process on the whole
    # validation split, and compare them with what the two processes logged together.
    cfg = compose_config("train", *overrides, f"paths.output_dir={tmp_path / 'unused'}")
    datamodule = hydra.utils.instantiate(cfg.data, fold=None, seed=cfg.seed, _convert_="all")
    datamodule.prepare_data()
    datamodule.setup("fit")
    assert datamodule.split_info()["val"] == split["val"]
    batch = next(iter(datamodule.val_dataloader()))
    assert len(batch["image"]) == 4  # the whole validation split in one batch, in order
    state = torch.load(run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=False)
    net = build_model("xunet", base_channels=4)
    net.load_state_dict({k.removeprefix("net."): v for k, v in state["state_dict"].items()})
    with torch.no_grad():
        logits = net.eval()(batch["image"])
    image_dice = dice_per_image(binarize(logits, cfg.threshold), batch["mask"])
    assert metrics["val_dice"] == pytest.approx(image_dice.mean().item(), abs=1e-5)

    # Each process validated half the samples (the distributed sampler deals them out in
    # turn: rank r gets r, r+2, ...); the logged loss is the mean of both halves' losses.
    # The halves differ, so a loss from rank 0 alone would not pass.
    criterion = SegmentationLoss(cfg.loss)
    halves = [criterion(logits[rank::2], batch["mask"][rank::2]).item() for rank in (0, 1)]
    assert abs(halves[0] - halves[1]) > 1e-4
    assert metrics["val_loss"] == pytest.approx(sum(halves) / 2, abs=1e-5)
