"""GPU training throughput and model FLOP utilisation (bf16 autocast, channels_last)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lus_unet.bench.flops import SUSTAINED_BF16_TFLOPS, count_flops, peak_bf16_tflops
from lus_unet.bench.inference import InferMode, measure_inference
from lus_unet.bench.steps import TrainStep, random_batch
from lus_unet.bench.timing import interleaved_times
from lus_unet.bench.workload import Workload
from lus_unet.models import build_model

log = logging.getLogger(__name__)


def measure_gpu_training(
    batch_sizes: Sequence[int] = (20, 64),
    compile_modes: Sequence[bool] = (False, True),
    image_size: int = 256,
    steps_per_call: int = 10,
    repeats: int = 5,
    device: str = "cuda",
    base_channels: int = 64,
) -> list[dict[str, Any]]:
    """Images per second of full X-UNet training steps per batch size and compilation.

    Each step is what ``trainer=gpu`` runs: bf16 autocast, channels_last network and batch,
    Adam on every parameter, cuDNN autotuning on. Eager and compiled variants of one batch
    size take turns. A variant that runs out of memory is reported as such.

    Args:
        batch_sizes: images per step (20 = the paper's).
        compile_modes: False = eager, True = ``nn.Module.compile`` (Inductor).
        image_size: square input side.
        steps_per_call: steps per timed call (queued back to back, one sync at the end, as
            in real training).
        repeats: timed calls per variant (one untimed call first; it compiles).
        device: the GPU (``cpu`` only to test this code without one).
        base_channels: X-UNet width (64 = the paper's).

    Returns:
        One row per variant: ``batch_size``, ``compiled``, ``images_per_s`` and ``step_ms``,
        or ``error`` (``oom`` or the exception).
    """
    on_gpu = device.startswith("cuda")
    if on_gpu:
        torch.backends.cudnn.benchmark = True  # as trainer=gpu (Trainer(benchmark=True))
    sync = torch.cuda.synchronize if on_gpu else None
    rows: list[dict[str, Any]] = []
    for batch_size in batch_sizes:
        steps, names = [], []
        for compiled in compile_modes:
            try:
                step = _gpu_step(compiled, device, base_channels)
                batch = random_batch(batch_size, image_size, device, channels_last=True)
                step(batch)  # allocate (an OOM shows here) and compile before timing
            except torch.OutOfMemoryError:
                rows.append({"batch_size": batch_size, "compiled": compiled, "error": "oom"})
                _free_memory(device)
                continue
            except Exception as error:  # e.g. a compiler failure: keep the other variants
                log.warning("Training variant compiled=%s failed: %s", compiled, error)
                rows.append({"batch_size": batch_size, "compiled": compiled, "error": repr(error)})
                continue
            steps.append(lambda s=step, b=batch: [s(b) for _ in range(steps_per_call)])
            names.append(compiled)
        if not steps:
            continue
        try:
            times = interleaved_times(steps, repeats, 1, sync)
        except torch.OutOfMemoryError:
            rows += [{"batch_size": batch_size, "compiled": c, "error": "oom"} for c in names]
            _free_memory(device)
            continue
        for compiled, seconds in zip(names, np.median(times, axis=0), strict=True):
            step_s = float(seconds) / steps_per_call
            rows.append(
                {
                    "batch_size": batch_size,
                    "compiled": compiled,
                    "images_per_s": batch_size / step_s,
                    "step_ms": step_s * 1e3,
                }
            )
        del steps
        _free_memory(device)
    return rows


def _free_memory(device: str) -> None:
    """Hand the caching allocator's free blocks back, so the next variant starts clean."""
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def _gpu_step(compiled: bool, device: str, base_channels: int) -> TrainStep:
    """A bf16-autocast channels_last X-UNet training step on ``device``."""
    net = build_model("xunet", base_channels=base_channels)
    net = net.to(device, memory_format=torch.channels_last)
    if compiled:
        # In place, so parameter names (and checkpoints) stay as they are; static shapes, so
        # each batch size gets its own specialised graph.
        net.compile(dynamic=False)
    return TrainStep(net, autocast_dtype=torch.bfloat16)


def measure_gpu(
    batch_sizes: Sequence[int] = (20, 64),
    compile_modes: Sequence[bool] = (False, True),
    infer_batch_sizes: Sequence[int] = (16, 64, 128),
    image_size: int = 256,
    repeats: int = 5,
) -> dict[str, Any]:
    """The suite's GPU figures: training images/s and MFU per variant, inference frames/s.

    MFU (model FLOP utilisation) = training images/s x FLOPs per training image (forward +
    backward, counted by torch.utils.flop_counter, not assumed) / the GPU's peak. The peak
    is the data-sheet dense bf16 figure for the device (see
    :data:`~lus_unet.bench.flops.PEAK_BF16_TFLOPS`); MFU against the sustained
    :data:`~lus_unet.bench.flops.SUSTAINED_BF16_TFLOPS` is reported beside it.

    Args:
        batch_sizes: training batch sizes (20 = the paper's, 64 = a larger one).
        compile_modes: eager and/or compiled.
        infer_batch_sizes: inference batch sizes (the middle one compares the modes).
        image_size: square input side.
        repeats: timed calls per variant.

    Returns:
        ``gpu_train_images_per_s`` and ``gpu_train_mfu`` of the fastest variant,
        ``gpu_train_runs`` (every variant), ``gpu_infer_frames_per_s`` and its mode and
        table, ``gpu_peak_bf16_tflops`` (the peak used), ``gpu_train_mfu_at_790``.
    """
    name = torch.cuda.get_device_name(0)
    peak = peak_bf16_tflops(name)
    flops, _ = count_flops(build_model("xunet"), image_size, train=True)
    runs = measure_gpu_training(batch_sizes, compile_modes, image_size, repeats=repeats)
    for run in runs:
        if "images_per_s" in run:
            achieved = run["images_per_s"] * flops / 1e12
            run["achieved_tflops"] = achieved
            run["mfu"] = achieved / peak if peak else None
            run["mfu_at_790"] = achieved / SUSTAINED_BF16_TFLOPS
    results: dict[str, Any] = {
        "gpu_name": name,
        "gpu_peak_bf16_tflops": peak,
        "gpu_train_flops_per_image": flops,
        "gpu_train_runs": runs,
    }
    timed = [run for run in runs if "images_per_s" in run]
    if timed:
        best = max(timed, key=lambda run: run["images_per_s"])
        results.update(
            gpu_train_images_per_s=best["images_per_s"],
            gpu_train_best={"batch_size": best["batch_size"], "compiled": best["compiled"]},
            gpu_train_mfu_at_790=best["mfu_at_790"],
        )
        if best["mfu"] is not None:
            results["gpu_train_mfu"] = best["mfu"]
    modes = [InferMode("bfloat16", compiled) for compiled in compile_modes]
    middle = infer_batch_sizes[len(infer_batch_sizes) // 2]
    work = Workload(image_size=image_size, batch_size=middle, repeats=repeats)
    infer = measure_inference("cuda", modes, infer_batch_sizes, work)
    results.update({f"gpu_{key}": value for key, value in infer.items()})
    return results
