"""Speed settings that are not Trainer arguments, applied by a callback from the trainer config."""

from __future__ import annotations

import logging

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback

log = logging.getLogger(__name__)


class PerformanceCallback(Callback):
    """Put the network in channels_last memory format and/or compile it, once, before training.

    channels_last (NHWC) is the layout the tensor-core convolutions of cuDNN (and oneDNN on
    the CPU) run natively: with the weights in it, every activation follows, and no layout
    transposes are inserted around each convolution. Compilation (``torch.compile``, Inductor)
    fuses the element-wise work between convolutions. Both leave parameter names, and thus
    checkpoints, unchanged. cuDNN autotuning is the Trainer's own ``benchmark`` argument.

    Args:
        channels_last: convert the network's parameters to channels_last.
        compile: compile the network in place (``nn.Module.compile``); the first steps of
            training and of validation then take a minute or so longer.
    """

    def __init__(self, channels_last: bool = False, compile: bool = False) -> None:
        self.channels_last = channels_last
        self.compile = compile

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # Runs in every process before the strategy moves the module to its device (which
        # keeps the memory format) and wraps it for data parallelism.
        if self.channels_last:
            pl_module.to(memory_format=torch.channels_last)
        if self.compile:
            net = getattr(pl_module, "net", pl_module)
            net.compile()
        log.info("Performance: channels_last=%s, compile=%s", self.channels_last, self.compile)
