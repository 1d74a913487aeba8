"""The hand-written training step that the benchmarks time (and compare Lightning against)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

import torch
from torch import nn

from lus_unet.training.losses import SegmentationLoss

Batch = dict[str, torch.Tensor]
T = TypeVar("T")


class TrainStep:
    """A plain PyTorch training step with the project's loss and optimizer.

    It does what :class:`~lus_unet.training.module.SegmentationModule` does per batch (forward,
    loss, backward, Adam on the trainable parameters) without the framework around it.

    Args:
        net: the network, on its device, frozen groups already marked.
        loss: loss name (see :class:`~lus_unet.training.losses.SegmentationLoss`).
        lr: Adam's learning rate.
        autocast_dtype: run forward and loss under ``torch.autocast`` in this dtype (e.g.
            ``torch.bfloat16``, as Lightning's ``bf16-mixed``); None = full precision.

    Attributes:
        optimizer_s: wall time of the last call's optimizer update, in seconds (meaningful on
            the CPU, where the update runs synchronously).
    """

    def __init__(
        self,
        net: nn.Module,
        loss: str = "dice",
        lr: float = 1e-5,
        autocast_dtype: torch.dtype | None = None,
    ) -> None:
        self.net = net.train()
        self.criterion = SegmentationLoss(loss)
        self.optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr)
        self.autocast_dtype = autocast_dtype
        self.device_type = next(net.parameters()).device.type
        self.optimizer_s = 0.0

    def __call__(self, batch: Batch) -> torch.Tensor:
        """Train on one batch (``image`` and ``mask`` on the net's device); the detached loss."""
        dtype = self.autocast_dtype
        with torch.autocast(self.device_type, dtype=dtype, enabled=dtype is not None):
            value = self.criterion(self.net(batch["image"]), batch["mask"])
        self.optimizer.zero_grad(set_to_none=True)
        value.backward()
        start = time.perf_counter()
        self.optimizer.step()
        self.optimizer_s = time.perf_counter() - start
        return value.detach()


def random_batch(
    batch_size: int,
    image_size: int,
    device: torch.device | str = "cpu",
    channels_last: bool = False,
    seed: int = 0,
) -> Batch:
    """A batch of random frames (3 channels, [0, 1]) with random binary masks.

    Timing does not depend on pixel values, so random data stands in for real frames.
    """
    generator = torch.Generator().manual_seed(seed)
    image = torch.rand(batch_size, 3, image_size, image_size, generator=generator)
    mask = (torch.rand(batch_size, 1, image_size, image_size, generator=generator) > 0.5).float()
    if channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    return {"image": image.to(device), "mask": mask.to(device)}


def endless(loader: Iterable[T]) -> Iterator[T]:
    """Iterate over ``loader`` again and again, doing its work every time.

    Unlike ``itertools.cycle``, which replays the items of the first pass from memory, this
    re-runs the loader (sampling, augmentation, collation) on every pass.
    """
    while True:
        yield from loader
