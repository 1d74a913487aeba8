"""Images per second: the input pipeline per loader worker, and the model's training step."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from lus_unet.bench.steps import TrainStep, endless, random_batch
from lus_unet.bench.timing import interleaved_times
from lus_unet.bench.workload import Workload
from lus_unet.data.augment import build_augmentation
from lus_unet.data.dataset import SegmentationDataset
from lus_unet.models import build_model

# A CPU's throughput per image barely depends on the batch size: a small batch keeps the
# measurement affordable.
MODEL = Workload(batch_size=2)


def measure_loader(
    image_size: int = 256,
    batch_size: int = 20,
    n_frames: int = 100,
    batches: int = 20,
    augment: str = "keras",
    seed: int = 0,
) -> dict[str, Any]:
    """Training-loader throughput of one worker, in images per second.

    It times what a loader worker does per batch once frames are preprocessed (despeckled,
    log-compressed and resized: done once and cached, not per epoch): index the in-memory
    frames, flip the mirrored copies, augment, make tensors, collate. ``num_workers=0`` runs
    it in this process, so the figure is one worker's; N workers give about N times it, up
    to the cores free beside the training process.

    Args:
        image_size: square frame side.
        batch_size: images per batch.
        n_frames: in-memory frames (each also served flipped).
        batches: timed batches (after one untimed).
        augment: augmentation preset (see :func:`build_augmentation`).
        seed: data seed.

    Returns:
        ``loader_images_per_s_per_worker`` and the settings.
    """
    rng = np.random.default_rng(seed)
    images = rng.random((n_frames, image_size, image_size), dtype=np.float32)
    masks = (rng.random((n_frames, image_size, image_size)) > 0.5).astype(np.uint8)
    indices = np.tile(np.arange(n_frames), 2)
    flipped = np.repeat([False, True], n_frames)
    dataset = SegmentationDataset(images, masks, indices, flipped, build_augmentation(augment))
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=0)
    batch_iter = endless(loader)
    times = interleaved_times([lambda: next(batch_iter)], repeats=batches, warmup=1)[:, 0]
    return {
        "loader_images_per_s_per_worker": batch_size / float(np.median(times)),
        "loader_setup": {"image_size": image_size, "batch_size": batch_size, "augment": augment},
    }


def measure_model_throughput(work: Workload = MODEL, channels_last: bool = True) -> dict[str, Any]:
    """Training throughput of the full X-UNet on the CPU, in images per second.

    Args:
        work: sizes and repeats.
        channels_last: network and batch in channels_last, as ``trainer=cpu`` trains.

    Returns:
        ``model_images_per_s``, the step time in ms and the settings.
    """
    torch.manual_seed(work.seed)
    net = build_model("xunet", base_channels=work.base_channels)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    step = TrainStep(net.to(memory_format=memory_format))
    batch = random_batch(
        work.batch_size, work.image_size, channels_last=channels_last, seed=work.seed
    )
    times = interleaved_times([lambda: step(batch)], work.repeats, work.warmup)[:, 0]
    seconds = float(np.median(times))
    return {
        "model_images_per_s": work.batch_size / seconds,
        "model_step_ms": seconds * 1e3,
        "model_setup": {**work.setup(), "channels_last": channels_last},
    }


def workers_to_feed(model_images_per_s: float, loader_images_per_s_per_worker: float) -> int:
    """Loader workers needed so that the input pipeline keeps up with the model."""
    return max(1, int(np.ceil(model_images_per_s / loader_images_per_s_per_worker)))
