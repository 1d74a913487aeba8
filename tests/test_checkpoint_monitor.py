"""checkpoint.monitor: which epoch is best.ckpt, what metrics.json reports, what resume keeps.

The reported metrics must be those of ``best.ckpt`` (evaluate, predict and report load it), so
the callback that records them and the ModelCheckpoint that writes it must pick the same epoch.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import lightning as L
import pytest
import torch
from conftest import compose_config, run_paths, tiny_overrides
from torch.utils.data import DataLoader, TensorDataset

from lus_unet.errors import ConfigError
from lus_unet.run_fingerprint import fingerprint, refusal
from lus_unet.train import train
from lus_unet.training.callbacks import MONITOR_MODES, BestMetrics, best_checkpoint

NAN = math.nan


class _Scripted(L.LightningModule):
    """Logs a scripted val/loss and val/dice per epoch."""

    def __init__(self, losses: list[float], dices: list[float]) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.losses, self.dices = losses, dices

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.layer(batch[0]).mean()

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        self.log("val/loss", self.losses[self.current_epoch])
        self.log("val/dice", self.dices[self.current_epoch])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def select(tmp_path: Path, monitor: str, losses: list[float], dices: list[float]):
    """Fit the scripted module; the recorded best epoch and best.ckpt's epoch."""
    loader = DataLoader(TensorDataset(torch.ones(2, 1)), batch_size=2)
    best = BestMetrics(monitor)
    trainer = L.Trainer(
        max_epochs=len(losses),
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[best_checkpoint(tmp_path, monitor), best],
    )
    trainer.fit(_Scripted(losses, dices), loader, loader)
    saved = torch.load(trainer.checkpoint_callback.best_model_path, weights_only=False)
    return best.summary(), saved["epoch"]


@pytest.mark.parametrize(
    ("monitor", "losses", "dices", "epoch"),
    [
        # The lowest loss need not be the highest Dice: each monitor picks its own epoch.
        ("val/loss", [0.5, 0.3, 0.4], [0.6, 0.7, 0.8], 1),
        ("val/dice", [0.5, 0.3, 0.4], [0.6, 0.7, 0.8], 2),
        # Ties keep the earlier epoch; NaN ranks last, as ModelCheckpoint ranks it.
        ("val/loss", [0.3, 0.3, 0.4], [0.6, 0.7, 0.8], 0),
        ("val/loss", [NAN, 0.4, 0.3], [0.6, 0.7, 0.8], 2),
        ("val/loss", [0.4, NAN, 0.5], [0.6, 0.7, 0.8], 0),
        ("val/loss", [NAN, NAN], [0.6, 0.7], 0),
    ],
)
def test_recorded_metrics_are_those_of_best_ckpt(tmp_path, monitor, losses, dices, epoch):
    summary, saved_epoch = select(tmp_path, monitor, losses, dices)
    assert summary["best_epoch"] == saved_epoch == epoch
    assert summary["val_dice"] == pytest.approx(dices[epoch])
    assert summary["monitor"] == monitor and summary["monitor_mode"] == MONITOR_MODES[monitor]
    assert summary["epoch_val_dice"] == pytest.approx(dices)
    if monitor == "val/loss":
        assert summary["epoch_val_loss"] == pytest.approx(losses, nan_ok=True)
    else:
        assert "epoch_val_loss" not in summary


def test_a_checkpoint_from_before_the_monitor_option_still_loads():
    best = BestMetrics("val/dice")
    best.load_state_dict({"best": {"val/dice": 0.5, "epoch": 1}, "history": [0.4, 0.5]})
    assert best.summary()["epoch_val_dice"] == [0.4, 0.5]


def tiny_run(run: Path, cache_dir: Path, *overrides: str) -> dict:
    cfg = compose_config(
        "train",
        *run_paths(run, cache_dir),
        *tiny_overrides("xunet"),  # one stage
        "trainer.max_epochs=3",
        "lr=3e-3",
        *overrides,
    )
    return train(cfg)


@pytest.mark.parametrize(("recipe", "monitor"), [("paper", "val/loss"), ("modern", "val/dice")])
def test_a_run_selects_by_its_recipes_monitor_and_says_so(tmp_path, cache_dir, recipe, monitor):
    run = tmp_path / "run"
    metrics = tiny_run(run, cache_dir, f"recipe={recipe}")
    assert json.loads((run / "metrics.json").read_text()) == metrics
    assert metrics["monitor"] == monitor
    history = metrics[f"epoch_{monitor.replace('/', '_')}"]
    pick = min if MONITOR_MODES[monitor] == "min" else max
    assert metrics["best_epoch"] == history.index(pick(history))
    assert metrics["val_dice"] == metrics["epoch_val_dice"][metrics["best_epoch"]]
    # best.ckpt, which evaluate, predict and report load, is that epoch.
    saved = torch.load(run / "checkpoints" / "best.ckpt", weights_only=False)
    assert saved["epoch"] == metrics["best_epoch"]
    assert saved["hyper_parameters"]["run_config"]["checkpoint"]["monitor"] == monitor


def test_resume_refuses_another_monitor(tmp_path, cache_dir):
    stored = {"seed": 42, "checkpoint": {"monitor": "val/loss"}}
    changed = {"seed": 42, "checkpoint": {"monitor": "val/dice"}}
    message = refusal(fingerprint(stored, None), fingerprint(changed, None))
    assert message is not None and "checkpoint.monitor changed val/loss -> val/dice" in message

    run = tmp_path / "run"
    tiny_run(run, cache_dir, "trainer.max_epochs=1")
    (run / "metrics.json").unlink()  # as if interrupted after its last checkpoint
    with pytest.raises(ConfigError, match=r"checkpoint\.monitor changed val/loss -> val/dice"):
        tiny_run(
            run, cache_dir, "trainer.max_epochs=1", "resume=true", "checkpoint.monitor=val/dice"
        )
