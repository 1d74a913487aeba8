"""A non-finite training loss stops training and keeps the last good checkpoint."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from conftest import tiny_overrides

from lus_unet.errors import TrainingError
from lus_unet.train import train
from lus_unet.training.losses import SegmentationLoss
from lus_unet.training.module import SegmentationModule

BATCHES_PER_EPOCH = 2
THREE_EPOCHS = [
    "trainer.max_epochs=3",
    f"+trainer.limit_train_batches={BATCHES_PER_EPOCH}",
    "+trainer.limit_val_batches=1",
]


@contextlib.contextmanager
def _host_sync_forbidden() -> Iterator[None]:
    """Make reading a tensor's value on the host (what syncs with a GPU) raise."""

    def refuse(self: torch.Tensor, *args: object) -> None:
        raise AssertionError("host sync in training_step")

    names = ("item", "__bool__", "__float__", "tolist")
    saved = {name: getattr(torch.Tensor, name) for name in names}
    for name in names:
        setattr(torch.Tensor, name, refuse)
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(torch.Tensor, name, method)


@pytest.fixture
def poisoned_loss(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """The training loss turns ``value`` (NaN by default) from the second epoch on.

    Multiplying the real loss keeps the graph, so the step also poisons the weights, as a
    diverging run does. Validation losses are left alone. Every training step runs with host
    syncs forbidden, which checks that the non-finite check costs none.
    """
    poison = {"value": float("nan"), "after": BATCHES_PER_EPOCH}
    calls = {"training": 0}
    original = SegmentationLoss.forward
    training_step = SegmentationModule.training_step

    def forward(self: SegmentationLoss, logits: torch.Tensor, target: torch.Tensor):
        loss = original(self, logits, target)
        if not self.training:
            return loss
        calls["training"] += 1
        return loss * poison["value"] if calls["training"] > poison["after"] else loss

    def guarded_step(self: SegmentationModule, batch: dict, batch_idx: int) -> torch.Tensor:
        with _host_sync_forbidden():
            return training_step(self, batch, batch_idx)

    monkeypatch.setattr(SegmentationLoss, "forward", forward)
    monkeypatch.setattr(SegmentationModule, "training_step", guarded_step)
    return poison


def _network_tensors(checkpoint: Path) -> tuple[int, dict[str, torch.Tensor]]:
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    return saved["epoch"], saved["state_dict"]


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_loss_stops_before_saving_that_epoch(
    compose_train, tmp_path, poisoned_loss, value
):
    poisoned_loss["value"] = value
    run = tmp_path / "run"
    last = run / "checkpoints" / "last.ckpt"
    expected = (
        rf"non-finite training loss \(NaN/inf\) in epoch 1; training stopped; "
        rf"{last} holds the last good epoch \(0\)\. Lower lr or check the data"
    )
    with pytest.raises(TrainingError, match=expected) as error:
        train(compose_train(*tiny_overrides("xunet"), *THREE_EPOCHS))
    assert "\n" not in str(error.value)
    epoch, state = _network_tensors(last)
    assert epoch == 0
    assert all(torch.isfinite(t).all() for t in state.values())
    assert {p.name for p in (run / "checkpoints").iterdir()} == {"best.ckpt", "last.ckpt"}
    assert not (run / "metrics.json").exists()


def test_a_finite_run_is_unaffected(compose_train, tmp_path, poisoned_loss):
    poisoned_loss["value"] = 1.0
    metrics = train(compose_train(*tiny_overrides("xunet"), *THREE_EPOCHS))
    assert metrics["epochs_run"] == 3
    epoch, state = _network_tensors(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert epoch == 2 and all(torch.isfinite(t).all() for t in state.values())


def test_a_loss_non_finite_from_the_first_epoch_says_no_checkpoint_was_saved(
    compose_train, tmp_path, poisoned_loss
):
    poisoned_loss["after"] = 0
    with pytest.raises(TrainingError, match="in epoch 0; training stopped; no checkpoint had"):
        train(compose_train(*tiny_overrides("xunet"), *THREE_EPOCHS))
    assert not (tmp_path / "run" / "checkpoints").exists()
