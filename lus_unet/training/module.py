"""The LightningModule that trains any of the networks on binary masks."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.types import OptimizerLRScheduler
from torch import nn
from torchmetrics import MeanMetric

from lus_unet.errors import TrainingError
from lus_unet.figures.overlay import overlay_grid
from lus_unet.metrics.batch import binarize, dice_per_image, iou_per_image
from lus_unet.metrics.case import CHEAP_METRICS, DISTANCE_METRICS_PX, case_metrics
from lus_unet.run_folder import CHECKPOINT_SUFFIX, LAST_CHECKPOINT
from lus_unet.training.losses import SegmentationLoss
from lus_unet.training.optim import build_optimizer, build_scheduler, uses_scheduler

# Case metrics logged besides Dice and IoU, which stay on the device (val/dice, val/iou).
SHAPE_SCORES: tuple[str, ...] = tuple(m for m in CHEAP_METRICS if m not in ("dice", "iou"))
DISTANCE_SCORES: tuple[str, ...] = DISTANCE_METRICS_PX


class SegmentationModule(L.LightningModule):
    """Train a segmentation network on its trainable parameters (Adam unless configured).

    Logs ``train/loss``, ``val/loss``, ``val/dice`` and ``val/iou`` (Dice and IoU per image at
    the threshold, averaged over the validation set) and, every ``image_log_every_n_epochs``,
    a TensorBoard grid of frames, ground truth and prediction overlays.

    Every validation epoch it also logs the defects Dice hides, per image and averaged
    (:mod:`lus_unet.metrics`): ``val/precision``, ``val/recall``,
    ``val/spurious_components``, ``val/outside_largest_fraction``,
    ``val/contour_length_ratio``; and every ``distance_metrics_every_n_epochs`` (and on the
    last epoch) ``val/hd95_px`` and ``val/assd_px``. These run in scipy, so validation copies
    each batch's hard masks to the host once; the training step adds no host sync.

    A NaN or infinite training loss stops training with a :class:`~lus_unet.errors.TrainingError`
    before any checkpoint of that epoch is written (the weights it produced are garbage), so
    ``checkpoints/last.ckpt`` keeps the last good epoch. The training step only records the
    fact on the device; it is read once per epoch.

    Args:
        net: the network (its frozen parameters are already marked ``requires_grad=False``).
        loss: loss name, see :class:`~lus_unet.training.losses.SegmentationLoss`.
        lr: the (peak) learning rate.
        threshold: probability above which a pixel is rib.
        image_log_every_n_epochs: how often to log the image grid (0 = never).
        n_logged_images: validation frames shown in the grid.
        distance_metrics_every_n_epochs: how often to compute HD95 and ASSD (distance
            transforms, the costly metrics); also on the last epoch. 0 = never.
        run_config: the run's configuration, stored in the checkpoint so that the network
            and its preprocessing can be rebuilt from the checkpoint alone.
        optimizer: the ``optimizer`` config (keyword arguments of
            :func:`~lus_unet.training.optim.build_optimizer` but ``lr``); None = Adam.
        scheduler: the ``scheduler`` config (keyword arguments of
            :func:`~lus_unet.training.optim.build_scheduler` but the step counts); None = a
            constant learning rate. A schedule is stepped after every optimisation step.
    """

    def __init__(
        self,
        net: nn.Module,
        loss: str = "dice",
        lr: float = 1e-5,
        threshold: float = 0.5,
        image_log_every_n_epochs: int = 10,
        n_logged_images: int = 4,
        distance_metrics_every_n_epochs: int = 5,
        run_config: dict[str, Any] | None = None,
        optimizer: dict[str, Any] | None = None,
        scheduler: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net"], logger=False)
        self.net = net
        self.criterion = SegmentationLoss(loss)
        self.val_loss = MeanMetric()
        self.val_dice = MeanMetric()
        self.val_iou = MeanMetric()
        self.val_scores = nn.ModuleDict(
            {name: MeanMetric() for name in SHAPE_SCORES + DISTANCE_SCORES}
        )
        self._distances_due = False
        self._grid_batch: tuple[torch.Tensor, ...] | None = None
        # Set on the device by any non-finite training loss of the epoch. Not persistent:
        # checkpoints hold the network's tensors only.
        self.register_buffer(
            "_loss_not_finite", torch.zeros((), dtype=torch.bool), persistent=False
        )
        self._last_saved_epoch: int | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.criterion(self(batch["image"]), batch["mask"])
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True)
        # In place on the device: reading the loss here would sync with the host every step.
        self._loss_not_finite.logical_or_(~torch.isfinite(loss.detach()))
        return loss

    def on_train_epoch_start(self) -> None:
        self._loss_not_finite.zero_()

    def on_validation_start(self) -> None:
        # Before validation, hence before ModelCheckpoint saves this epoch (on the train epoch's
        # end or the validation's end, both later).
        self._stop_if_loss_not_finite()

    def on_train_epoch_end(self) -> None:
        # Runs before ModelCheckpoint's own hook (Lightning calls monitoring callbacks last):
        # covers runs without validation.
        self._stop_if_loss_not_finite()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._last_saved_epoch = checkpoint["epoch"]

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._last_saved_epoch = checkpoint["epoch"]

    def _stop_if_loss_not_finite(self) -> None:
        """Raise a :class:`TrainingError` if this epoch's training loss was ever NaN or inf."""
        if self.trainer.sanity_checking:
            return
        # One host sync per epoch; every process takes the same decision (DDP).
        found = self.trainer.strategy.reduce_boolean_decision(
            bool(self._loss_not_finite), all=False
        )
        if not found:
            return
        dirpath = getattr(self.trainer.checkpoint_callback, "dirpath", None)
        last = Path(dirpath) / f"{LAST_CHECKPOINT}{CHECKPOINT_SUFFIX}" if dirpath else None
        kept = (
            f"{last} holds the last good epoch ({self._last_saved_epoch})"
            if last is not None and last.is_file() and self._last_saved_epoch is not None
            else "no checkpoint had been saved"
        )
        raise TrainingError(
            f"non-finite training loss (NaN/inf) in epoch {self.current_epoch}; training "
            f"stopped; {kept}. Lower lr or check the data (python -m lus_unet.check)"
        )

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        image, mask = batch["image"], batch["mask"]
        logits = self(image)
        pred = binarize(logits, self.hparams.threshold)
        self.val_loss.update(self.criterion(logits, mask), weight=image.shape[0])
        self.val_dice.update(dice_per_image(pred, mask))
        self.val_iou.update(iou_per_image(pred, mask))
        self._update_scores(pred, mask)
        if batch_idx == 0 and self._should_log_images():
            n = self.hparams.n_logged_images
            self._grid_batch = (image[:n, :1], mask[:n], pred[:n])

    def on_validation_epoch_start(self) -> None:
        every = self.hparams.distance_metrics_every_n_epochs
        self._distances_due = not self.trainer.sanity_checking and self._epoch_due(every)

    def _update_scores(self, pred: torch.Tensor, mask: torch.Tensor) -> None:
        """Update the scipy-computed case metrics with one batch of hard masks."""
        # The one device-to-host copy per validation batch: scipy needs numpy masks.
        preds = pred[:, 0].bool().cpu().numpy()
        targets = mask[:, 0].bool().cpu().numpy()
        cases = [
            case_metrics(p, t, distances=self._distances_due)
            for p, t in zip(preds, targets, strict=True)
        ]
        names = SHAPE_SCORES + (DISTANCE_SCORES if self._distances_due else ())
        for name in names:
            self.val_scores[name].update([case[name] for case in cases])

    def on_validation_epoch_end(self) -> None:
        self.log("val/loss", self.val_loss, prog_bar=True)
        self.log("val/dice", self.val_dice, prog_bar=True)
        self.log("val/iou", self.val_iou)
        for name, metric in self.val_scores.items():
            # Distance metrics are only logged on the epochs that computed them.
            if metric.update_called:
                self.log(f"val/{name}", metric)
        if self._grid_batch is not None:
            experiment = getattr(self.logger, "experiment", None)
            if hasattr(experiment, "add_image"):
                grid = overlay_grid(*self._grid_batch)
                experiment.add_image("val/predictions", grid, self.current_epoch)
            self._grid_batch = None

    def _should_log_images(self) -> bool:
        if self.trainer.sanity_checking:
            return False
        return self._epoch_due(self.hparams.image_log_every_n_epochs)

    def _epoch_due(self, every: int) -> bool:
        """Whether a task run every ``every`` epochs (0 = never) is due now; the last epoch is."""
        if not every:
            return False
        last_epoch = self.current_epoch + 1 == self.trainer.max_epochs
        return self.current_epoch % every == 0 or last_epoch

    def configure_optimizers(self) -> OptimizerLRScheduler:
        trainable = [p for p in self.net.parameters() if p.requires_grad]
        optimizer = build_optimizer(trainable, self.hparams.lr, **(self.hparams.optimizer or {}))
        schedule = self.hparams.scheduler or {}
        if not uses_scheduler(**schedule):
            return optimizer
        # Counts the training batches (limit_train_batches, max_steps, DDP and gradient
        # accumulation included), so num_training_batches is known after it.
        total_steps = self.trainer.estimated_stepping_batches
        steps_per_epoch = math.ceil(
            self.trainer.num_training_batches / self.trainer.accumulate_grad_batches
        )
        scheduler = build_scheduler(optimizer, total_steps, steps_per_epoch, **schedule)
        # "name": what LearningRateMonitor logs it as.
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "name": "train/lr"},
        }
