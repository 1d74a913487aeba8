"""The benchmark suite: which measurements run, at which sizes, and how results combine."""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from lus_unet.bench.deploy import QUICK_DICE_RUN, QUICK_SPEED, measure_deploy
from lus_unet.bench.despeckle import measure_despeckle
from lus_unet.bench.freezing import FREEZING, measure_frozen_step_ratio
from lus_unet.bench.inference import InferMode, measure_inference
from lus_unet.bench.machine import describe_machine
from lus_unet.bench.overhead import OVERHEAD, measure_lightning_overhead
from lus_unet.bench.throughput import (
    MODEL,
    measure_loader,
    measure_model_throughput,
    workers_to_feed,
)
from lus_unet.bench.workload import Workload

log = logging.getLogger(__name__)

SECTIONS = ("despeckle", "throughput", "overhead", "freezing", "inference", "deploy", "gpu")


@dataclass(frozen=True)
class SuiteSizes:
    """Problem sizes and repeat counts of every measurement (see each ``measure_*``)."""

    name: str
    despeckle: dict[str, Any] = field(default_factory=dict)
    loader: dict[str, Any] = field(default_factory=dict)
    model: Workload = MODEL
    overhead: Workload = OVERHEAD
    freezing: Workload = FREEZING
    xunet_width: int = 64
    inference: dict[str, Any] = field(default_factory=dict)
    deploy: dict[str, Any] = field(default_factory=dict)
    gpu: dict[str, Any] = field(default_factory=dict)


# Sized for a 2-core CPU shared with other work: about 10 minutes in all (the full-width
# networks dominate; their step ratios are measured at 128x128, see freezing.py).
FULL = SuiteSizes(
    name="full",
    despeckle={"repeats": 20, "warmup": 3},
    loader={"image_size": 256, "batch_size": 20, "batches": 20},
    overhead=OVERHEAD,
    gpu={"batch_sizes": (20, 64), "infer_batch_sizes": (16, 64, 128), "repeats": 5},
)
# Seconds: tiny networks and images, one or two repeats. Checks that everything runs and
# reports; its figures mean nothing.
QUICK = SuiteSizes(
    name="quick",
    despeckle={"repeats": 2, "warmup": 1},
    loader={"image_size": 32, "batch_size": 4, "n_frames": 8, "batches": 2},
    model=Workload(image_size=32, batch_size=2, repeats=1, base_channels=4),
    overhead=Workload(image_size=32, batch_size=2, repeats=6, warmup=2, base_channels=4),
    freezing=Workload(image_size=32, batch_size=1, repeats=1, warmup=0),
    xunet_width=8,
    inference={
        # Compilation alone takes most of a minute: the quick suite leaves it out.
        "modes": (InferMode("float32", False), InferMode("bfloat16", False)),
        "batch_sizes": (1, 2),
        "work": Workload(image_size=32, batch_size=1, repeats=1, base_channels=4),
    },
    deploy={"speed": QUICK_SPEED, "dice_run": QUICK_DICE_RUN},
    gpu={"batch_sizes": (2,), "infer_batch_sizes": (1, 2), "image_size": 32, "repeats": 1},
)


def run_suite(
    sizes: SuiteSizes = FULL,
    sections: Sequence[str] = SECTIONS,
    compile_gpu: bool = True,
    on_section: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the chosen sections and return every figure, the headline keys at the top level.

    The ``gpu`` section runs only where CUDA is available; without a GPU its keys are absent.

    Args:
        sizes: :data:`FULL` or :data:`QUICK` (or a custom :class:`SuiteSizes`).
        sections: which of :data:`SECTIONS` to run.
        compile_gpu: also time torch.compile'd variants on the GPU (compilation takes a
            minute or two).
        on_section: called with the results so far after every section (e.g. to write
            them, so that a run stopped by a time limit still leaves its figures).
    """
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise ValueError(f"unknown section(s) {unknown}; valid: {', '.join(SECTIONS)}")
    results: dict[str, Any] = {"suite": sizes.name, "machine": describe_machine(), "seconds": {}}
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "despeckle": lambda: measure_despeckle(**sizes.despeckle),
        "throughput": lambda: {
            **measure_loader(**sizes.loader),
            **measure_model_throughput(sizes.model),
        },
        "overhead": lambda: measure_lightning_overhead(sizes.overhead),
        "freezing": lambda: _freezing(sizes),
        "inference": lambda: _prefixed("cpu_", measure_inference("cpu", **sizes.inference)),
        "deploy": lambda: measure_deploy(**sizes.deploy),
        "gpu": lambda: _gpu(sizes, compile_gpu),
    }
    for section in SECTIONS:
        if section not in sections:
            continue
        if section == "gpu" and not torch.cuda.is_available():
            log.info("No GPU: the gpu section is skipped and its keys are absent")
            continue
        log.info("Benchmark section %s (%s sizes)", section, sizes.name)
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # Lightning's advice for real training runs (no val loader, few workers) is
                # noise in a timing harness that sets those up on purpose.
                warnings.filterwarnings("ignore", module=r"lightning\..*")
                results.update(runners[section]())
        except Exception as error:  # one broken section must not lose the others' figures
            log.exception("Benchmark section %s failed", section)
            results.setdefault("errors", {})[section] = repr(error)
        results["seconds"][section] = round(time.perf_counter() - started, 1)
        _add_workers_to_feed(results)
        if on_section is not None:
            on_section(results)
    if hasattr(os, "getloadavg"):
        results["machine"]["load_average_1min_end"] = os.getloadavg()[0]
    return results


def _freezing(sizes: SuiteSizes) -> dict[str, Any]:
    """V-UNet encoder frozen and X-UNet bottleneck frozen, each against all trainable."""
    vunet = measure_frozen_step_ratio("vunet", "encoder", sizes.freezing)
    xunet_work = replace(sizes.freezing, base_channels=sizes.xunet_width)
    xunet = measure_frozen_step_ratio("xunet", "bottleneck", xunet_work)
    return {
        "frozen_encoder_step_ratio": vunet["ratio"],
        # The floor the arithmetic sets when Adam's per-parameter cost is negligible.
        "frozen_encoder_flop_ratio": vunet["flop_ratio"],
        "bottleneck_frozen_step_ratio": xunet["ratio"],
        "frozen_encoder": vunet,
        "bottleneck_frozen": xunet,
    }


def _gpu(sizes: SuiteSizes, compile_gpu: bool) -> dict[str, Any]:
    """The GPU section (imported here: it is only needed where there is a GPU)."""
    from lus_unet.bench.gpu import measure_gpu

    return measure_gpu(compile_modes=(False, True) if compile_gpu else (False,), **sizes.gpu)


def _prefixed(prefix: str, figures: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}{key}": value for key, value in figures.items()}


def _add_workers_to_feed(results: dict[str, Any]) -> None:
    """Loader workers that keep the model fed: on the GPU's rate if measured, else the CPU's."""
    loader = results.get("loader_images_per_s_per_worker")
    if not loader:
        return
    for key, rate_key in (
        ("workers_to_feed_cpu", "model_images_per_s"),
        ("workers_to_feed_gpu", "gpu_train_images_per_s"),
    ):
        if results.get(rate_key):
            results[key] = workers_to_feed(results[rate_key], loader)
