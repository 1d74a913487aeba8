"""Lightning's cost per training step against a hand-written PyTorch loop, step by step."""

from __future__ import annotations

import copy
import time
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lus_unet.bench.steps import Batch, TrainStep, endless, random_batch
from lus_unet.bench.timing import median_ratio
from lus_unet.bench.workload import Workload
from lus_unet.models import build_model
from lus_unet.training.module import SegmentationModule

# A step of realistic size: the quickstart network and batch (X-UNet base_channels=8, 128x128,
# batch 16; `make train`). On a toy 50 ms step the framework's fixed cost per step is a larger
# share and the pair ratio moved with the machine's load (0.007 to 0.035 between runs); here
# 60 interleaved pairs give a median that repeats within 0.01. The warm-up pairs cover the
# allocator and oneDNN's primitive caches.
OVERHEAD = Workload(base_channels=8, image_size=128, batch_size=16, repeats=60, warmup=5)


class _TensorBatches(Dataset):
    """Samples of an in-memory batch, as the dicts the project's loaders yield."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch

    def __len__(self) -> int:
        return len(self.batch["image"])

    def __getitem__(self, index: int) -> Batch:
        return {key: value[index] for key, value in self.batch.items()}


class _InterleavedPlainSteps(L.Callback):
    """Runs one plain-loop step after every Lightning step, timing both.

    A Lightning step is the wall time from the end of the previous step's hooks to the end of
    this step's (data fetch, hooks, logging, optimizer); the plain step runs outside that
    window. Neighbouring steps see the same machine load, so the ratio of a pair is robust on
    a shared machine where absolute times drift by several percent.
    """

    def __init__(self, plain_step: TrainStep, loader: DataLoader) -> None:
        self.plain_step = plain_step
        self.batches = endless(loader)  # loader iteration is part of the plain step
        self.lightning_s: list[float] = []
        self.plain_s: list[float] = []
        self._mark: float | None = None

    def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
        now = time.perf_counter()
        if self._mark is not None:
            self.lightning_s.append(now - self._mark)
        start = time.perf_counter()
        self.plain_step(next(self.batches))
        self.plain_s.append(time.perf_counter() - start)
        self._mark = time.perf_counter()


def measure_lightning_overhead(work: Workload = OVERHEAD) -> dict[str, Any]:
    """Lightning training step time over a plain PyTorch loop's, minus one.

    Both train identical copies of a small X-UNet with the same loss (soft Dice) and Adam on
    the same in-memory batches through a DataLoader, on the CPU; the Trainer has its progress
    bar, logger, checkpointing, model summary and validation off, and the module is the real
    :class:`SegmentationModule` (its ``self.log`` of ``train/loss`` included).

    Args:
        work: sizes; ``warmup + repeats`` Lightning steps run, each followed by one plain
            step, and the first ``warmup`` pairs are left out.

    Returns:
        ``lightning_overhead`` (median over step pairs of Lightning/plain, minus one),
        ``lightning_overhead_ms_per_step`` (median difference), the median step times in ms
        and the settings.
    """
    torch.manual_seed(work.seed)
    net = build_model("xunet", base_channels=work.base_channels)
    data = _TensorBatches(random_batch(work.batch_size * 8, work.image_size, seed=work.seed))
    batches = DataLoader(data, batch_size=work.batch_size)
    plain_net = copy.deepcopy(net)
    timer = _InterleavedPlainSteps(TrainStep(plain_net, loss="dice", lr=1e-5), batches)
    module = SegmentationModule(net, loss="dice", lr=1e-5, image_log_every_n_epochs=0)
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=work.warmup + work.repeats,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        callbacks=[timer],
    )
    trainer.fit(module, train_dataloaders=DataLoader(data, batch_size=work.batch_size))
    lightning_s = np.array(timer.lightning_s[work.warmup :])
    # The plain step i ran right after Lightning step i; Lightning step i+1 is timed from there.
    plain_s = np.array(timer.plain_s[work.warmup : work.warmup + len(lightning_s)])
    return {
        "lightning_overhead": median_ratio(lightning_s, plain_s) - 1,
        "lightning_overhead_ms_per_step": float(np.median(lightning_s - plain_s) * 1e3),
        "lightning_step_ms": float(np.median(lightning_s) * 1e3),
        "plain_step_ms": float(np.median(plain_s) * 1e3),
        "overhead_setup": {**work.setup(), "step_pairs": len(lightning_s)},
    }
