"""What freezing a parameter group saves per training step, measured and predicted from FLOPs."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lus_unet.bench.flops import count_flops
from lus_unet.bench.steps import TrainStep, random_batch
from lus_unet.bench.timing import interleaved_times, median_ratio
from lus_unet.bench.workload import Workload
from lus_unet.models import build_model, freeze_groups

# Every conv's cost scales with the pixel count alike, so the FLOP shares, and hence the
# ratio, do not depend on the image size; 128x128 keeps the full-width networks affordable
# on a CPU.
FREEZING = Workload(image_size=128, repeats=5)


def measure_frozen_step_ratio(model: str, frozen: str, work: Workload = FREEZING) -> dict[str, Any]:
    """Training step time with one parameter group frozen over the time with all trainable.

    Two copies of the same full-width network take turns (one step each per repeat), so the
    ratio is paired. The FLOP counter's forward + backward totals of the two give the ratio
    that the arithmetic alone predicts.

    Args:
        model: ``xunet`` or ``vunet`` (random weights: the values do not change the cost).
        frozen: the group to freeze (``encoder``, ``bottleneck``, ...).
        work: sizes and repeats (``base_channels``: X-UNet only).

    Returns:
        ``ratio`` (median of frozen/all over the paired steps), ``flop_ratio`` (forward +
        backward FLOPs, frozen/all), ``ratio_without_optimizer`` (the step ratio less Adam's
        update in each), the step and optimizer times in ms and each group's share of the
        forward FLOPs.
    """
    xunet = model == "xunet"
    options = {"base_channels": work.base_channels} if xunet else {"encoder_weights": None}
    torch.manual_seed(work.seed)
    nets = [build_model(model, **options), build_model(model, **options)]
    freeze_groups(nets[1], [frozen])
    batch = random_batch(work.batch_size, work.image_size, seed=work.seed)
    steps = [TrainStep(net) for net in nets]
    # Adam's update costs per parameter, not per pixel: at a small batch it is a large part of
    # the step, and freezing saves it for every frozen parameter. Recording it within each
    # step separates that saving from the arithmetic's, paired like the steps themselves.
    optimizer_s: list[list[float]] = [[], []]

    def run(index: int) -> None:
        steps[index](batch)
        optimizer_s[index].append(steps[index].optimizer_s)

    times = interleaved_times([lambda: run(0), lambda: run(1)], work.repeats, work.warmup)
    adam = np.array(optimizer_s).T[work.warmup :]
    compute = times - adam
    flops_all, by_module = count_flops(nets[0], work.image_size, train=True)
    flops_frozen, _ = count_flops(nets[1], work.image_size, train=True)
    forward = sum(by_module.values())
    return {
        "ratio": median_ratio(times[:, 1], times[:, 0]),
        "flop_ratio": flops_frozen / flops_all,
        "ratio_without_optimizer": median_ratio(compute[:, 1], compute[:, 0]),
        "all_trainable_step_ms": float(np.median(times[:, 0]) * 1e3),
        "frozen_step_ms": float(np.median(times[:, 1]) * 1e3),
        "all_trainable_optimizer_ms": float(np.median(adam[:, 0]) * 1e3),
        "frozen_optimizer_ms": float(np.median(adam[:, 1]) * 1e3),
        "forward_flop_share": {name: flops / forward for name, flops in by_module.items()},
        "frozen_params": sum(p.numel() for p in nets[1].parameters() if not p.requires_grad),
        "total_params": sum(p.numel() for p in nets[1].parameters()),
        # V-UNet's width is VGG16's, whatever base_channels says.
        "setup": {**work.setup(), "repeats": work.repeats, **({} if xunet else {"model": model})},
    }
