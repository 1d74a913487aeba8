"""Validation logs the defects Dice hides; metrics.json only reports what the best epoch logged."""

from __future__ import annotations

from collections import defaultdict

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from lus_unet.models import XUNet
from lus_unet.training.callbacks import BestMetrics
from lus_unet.training.module import SegmentationModule

SHAPE = {
    "val/precision",
    "val/recall",
    "val/spurious_components",
    "val/outside_largest_fraction",
    "val/contour_length_ratio",
}
DISTANCE = {"val/hd95_px", "val/assd_px"}


class _Blobs(Dataset):
    """Random 32x32 frames with a bright square and its mask."""

    def __init__(self, n: int = 4) -> None:
        generator = torch.Generator().manual_seed(0)
        self.images = torch.rand(n, 3, 32, 32, generator=generator)
        self.masks = torch.zeros(n, 1, 32, 32)
        self.masks[:, :, 8:20, 10:24] = 1
        self.images += self.masks

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"image": self.images[i], "mask": self.masks[i]}


def _trainer(max_epochs: int, callbacks: list[L.Callback]) -> L.Trainer:
    return L.Trainer(
        max_epochs=max_epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=callbacks,
    )


def _logged_per_epoch(every: int, max_epochs: int) -> dict[int, set[str]]:
    module = SegmentationModule(
        XUNet(base_channels=4),
        loss="bce",
        lr=1e-3,
        image_log_every_n_epochs=0,
        distance_metrics_every_n_epochs=every,
    )
    logged: dict[int, set[str]] = defaultdict(set)
    log = module.log

    def spy(name: str, *args, **kwargs) -> None:
        logged[module.current_epoch].add(name)
        log(name, *args, **kwargs)

    module.log = spy
    loader = DataLoader(_Blobs(), batch_size=2)
    _trainer(max_epochs, []).fit(module, loader, loader)
    return {epoch: names - {"train/loss"} for epoch, names in logged.items()}


def test_cheap_metrics_every_epoch_distances_every_n_and_on_the_last():
    logged = _logged_per_epoch(every=2, max_epochs=4)
    assert sorted(logged) == [0, 1, 2, 3]
    for epoch, names in logged.items():
        assert {"val/loss", "val/dice", "val/iou"} | SHAPE <= names
        assert (names >= DISTANCE) == (epoch in (0, 2, 3)), epoch  # 3 is the last epoch
        assert not (DISTANCE & names) or names >= DISTANCE


def test_distance_metrics_can_be_switched_off():
    logged = _logged_per_epoch(every=0, max_epochs=2)
    assert all(names >= SHAPE and not DISTANCE & names for names in logged.values())


class _Scripted(L.LightningModule):
    """Logs val/dice 0.1 then 0.5, and val/extra only on epoch 0."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.layer(batch[0]).mean()

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        self.log("val/dice", (0.1, 0.5)[self.current_epoch])
        if self.current_epoch == 0:
            self.log("val/extra", 7.0)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_best_metrics_never_attributes_an_earlier_epochs_value():
    loader = DataLoader(torch.utils.data.TensorDataset(torch.ones(2, 1)), batch_size=2)
    best = BestMetrics()
    _trainer(2, [best]).fit(_Scripted(), loader, loader)
    assert best.best == {"val/dice": pytest.approx(0.5), "epoch": 1}
