"""Inference throughput of the full X-UNet: precision, compilation and batch size compared."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from lus_unet.bench.timing import cpu_seconds_per_call, interleaved_times
from lus_unet.bench.workload import Workload
from lus_unet.models import build_model

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class InferMode:
    """How the network runs: ``dtype`` of autocast (float32 = none), ``compiled`` with
    torch.compile (Inductor, with weight freezing: constant weights are pre-packed into the
    convolution library's blocked layout and conv + ReLU are fused). Always eval mode,
    ``torch.inference_mode`` and channels_last."""

    dtype: str = "float32"
    compiled: bool = False

    @property
    def label(self) -> str:
        return f"{self.dtype}{' compiled' if self.compiled else ''}"


MODES = tuple(InferMode(d, c) for c in (False, True) for d in DTYPES)
INFERENCE = Workload()  # the paper's X-UNet and frames; the modes compete at batch 2


def make_infer_fn(
    net: nn.Module, mode: InferMode, device: torch.device
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function from a channels_last batch to logits, running ``net`` as ``mode`` says."""
    net = net.to(device, memory_format=torch.channels_last).eval()
    if mode.compiled:
        # Freezing lets Inductor treat the weights as constants. It must be on when the first
        # call compiles (a config.patch around the call does not reach the whole compile); it
        # only acts on graphs compiled without autograd, so training compiles are unaffected.
        torch._inductor.config.freezing = True
        net = torch.compile(net, dynamic=False)  # one static graph per batch size
    autocast = mode.dtype != "float32"

    def infer(x: torch.Tensor) -> torch.Tensor:
        with (
            torch.inference_mode(),
            torch.autocast(device.type, dtype=DTYPES[mode.dtype], enabled=autocast),
        ):
            return net(x)

    return infer


def measure_inference(
    device: str = "cpu",
    modes: Sequence[InferMode] = MODES,
    batch_sizes: Sequence[int] = (1, 2, 4, 8),
    work: Workload = INFERENCE,
) -> dict[str, Any]:
    """Frames per second of X-UNet inference: best mode first, then best batch size.

    The modes are compared at ``work.batch_size`` (interleaved, the same batch for all), then
    the fastest one runs at every batch size (interleaved again). A mode that fails (e.g. no
    C++ compiler for torch.compile) is reported and skipped.

    Args:
        device: ``cpu`` or ``cuda``.
        modes: precision/compilation variants to compare.
        batch_sizes: batch sizes tried with the fastest mode.
        work: sizes and repeats; the untimed calls compile.

    Returns:
        ``infer_frames_per_s`` (the best), ``infer_mode`` (mode and batch size of the best),
        ``infer_table`` (frames/s of every variant tried) and, on the CPU,
        ``infer_frames_per_s_idle_estimate`` (the best variant's rate from its CPU time: what
        the machine's threads would give without other processes competing for the cores).
    """
    torch.manual_seed(work.seed)
    dev = torch.device(device)
    net = build_model("xunet", base_channels=work.base_channels)
    select_batch, repeats = work.batch_size, work.repeats
    sync = torch.cuda.synchronize if dev.type == "cuda" else None

    def batch(size: int) -> torch.Tensor:
        x = torch.rand(size, 3, work.image_size, work.image_size, device=dev)
        return x.contiguous(memory_format=torch.channels_last)

    fns, table = {}, []
    x = batch(select_batch)
    for mode in modes:
        fn = make_infer_fn(net, mode, dev)
        try:
            fn(x)
        except Exception as error:  # a missing compiler or backend must not stop the suite
            log.warning("Inference mode %s failed: %s", mode.label, error)
            table.append({**asdict(mode), "batch_size": select_batch, "error": repr(error)[:200]})
            continue
        fns[mode] = fn
    if not fns:
        raise RuntimeError("every inference mode failed")
    times = interleaved_times([lambda f=f: f(x) for f in fns.values()], repeats, work.warmup, sync)
    rates = select_batch / np.median(times, axis=0)
    table += [
        {**asdict(mode), "batch_size": select_batch, "frames_per_s": float(rate)}
        for mode, rate in zip(fns, rates, strict=True)
    ]
    best_mode = list(fns)[int(np.argmax(rates))]
    fn = fns[best_mode]
    inputs = {}
    for size in batch_sizes:
        if size == select_batch:
            continue
        try:
            fn(batch(size))  # compiles for this shape; an out-of-memory shows here
        except Exception as error:
            log.warning("Inference at batch %d failed: %s", size, error)
            table.append({**asdict(best_mode), "batch_size": size, "error": repr(error)[:200]})
            continue
        inputs[size] = batch(size)
    if inputs:
        calls = [lambda x=x: fn(x) for x in inputs.values()]
        times = interleaved_times(calls, repeats, work.warmup, sync)
        table += [
            {**asdict(best_mode), "batch_size": size, "frames_per_s": float(size / t)}
            for size, t in zip(inputs, np.median(times, axis=0), strict=True)
        ]
    best = max((row for row in table if "frames_per_s" in row), key=lambda r: r["frames_per_s"])
    figures = {}
    if dev.type == "cpu":
        # On a shared CPU the wall-clock rate depends on the other work; the CPU time does not.
        x = batch(best["batch_size"])
        seconds = cpu_seconds_per_call(lambda: fn(x), repeats)
        threads = torch.get_num_threads()
        figures["infer_frames_per_s_idle_estimate"] = best["batch_size"] * threads / seconds
    return {
        "infer_frames_per_s": best["frames_per_s"],
        **figures,
        "infer_mode": {
            **work.setup(),
            "dtype": best["dtype"],
            "compiled": best["compiled"],
            "batch_size": best["batch_size"],
            "channels_last": True,
        },
        "infer_table": table,
    }
