"""The LightningModule that trains any of the networks on binary masks."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn
from torchmetrics import MeanMetric

from lus_unet.training.losses import SegmentationLoss
from lus_unet.training.metrics import binarize, dice_per_image, iou_per_image
from lus_unet.training.visualize import overlay_grid


class SegmentationModule(L.LightningModule):
    """Train a segmentation network with Adam on its trainable parameters.

    Logs ``train/loss``, ``val/loss``, ``val/dice`` and ``val/iou`` (Dice and IoU per image at
    the threshold, averaged over the validation set) and, every ``image_log_every_n_epochs``,
    a TensorBoard grid of frames, ground truth and prediction overlays.

    Args:
        net: the network (its frozen parameters are already marked ``requires_grad=False``).
        loss: loss name, see :class:`~lus_unet.training.losses.SegmentationLoss`.
        lr: Adam's learning rate.
        threshold: probability above which a pixel is rib.
        image_log_every_n_epochs: how often to log the image grid (0 = never).
        n_logged_images: validation frames shown in the grid.
        run_config: the run's configuration, stored in the checkpoint so that the network
            and its preprocessing can be rebuilt from the checkpoint alone.
    """

    def __init__(
        self,
        net: nn.Module,
        loss: str = "dice",
        lr: float = 1e-5,
        threshold: float = 0.5,
        image_log_every_n_epochs: int = 10,
        n_logged_images: int = 4,
        run_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net"], logger=False)
        self.net = net
        self.criterion = SegmentationLoss(loss)
        self.val_loss = MeanMetric()
        self.val_dice = MeanMetric()
        self.val_iou = MeanMetric()
        self._grid_batch: tuple[torch.Tensor, ...] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.criterion(self(batch["image"]), batch["mask"])
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        image, mask = batch["image"], batch["mask"]
        logits = self(image)
        pred = binarize(logits, self.hparams.threshold)
        self.val_loss.update(self.criterion(logits, mask), weight=image.shape[0])
        self.val_dice.update(dice_per_image(pred, mask))
        self.val_iou.update(iou_per_image(pred, mask))
        if batch_idx == 0 and self._should_log_images():
            n = self.hparams.n_logged_images
            self._grid_batch = (image[:n, :1], mask[:n], pred[:n])

    def on_validation_epoch_end(self) -> None:
        self.log("val/loss", self.val_loss, prog_bar=True)
        self.log("val/dice", self.val_dice, prog_bar=True)
        self.log("val/iou", self.val_iou)
        if self._grid_batch is not None:
            experiment = getattr(self.logger, "experiment", None)
            if hasattr(experiment, "add_image"):
                grid = overlay_grid(*self._grid_batch)
                experiment.add_image("val/predictions", grid, self.current_epoch)
            self._grid_batch = None

    def _should_log_images(self) -> bool:
        every = self.hparams.image_log_every_n_epochs
        if not every or self.trainer.sanity_checking:
            return False
        last_epoch = self.current_epoch + 1 == self.trainer.max_epochs
        return self.current_epoch % every == 0 or last_epoch

    def configure_optimizers(self) -> torch.optim.Optimizer:
        trainable = [p for p in self.net.parameters() if p.requires_grad]
        return torch.optim.Adam(trainable, lr=self.hparams.lr)
