"""Interleaved wall-clock timing: the basis of every side-by-side comparison in the suite."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np


def interleaved_times(
    fns: Sequence[Callable[[], object]],
    repeats: int,
    warmup: int = 1,
    sync: Callable[[], None] | None = None,
) -> np.ndarray:
    """Wall time in seconds of every function in every repeat, the functions taking turns.

    Taking turns within each repeat means a load change on a shared machine hits all the
    functions alike, so per-repeat ratios stay meaningful even when absolute times drift.

    Args:
        fns: the functions to time (called without arguments).
        repeats: timed rounds; each round calls every function once, in order.
        warmup: untimed rounds first (allocator, caches, lazy initialisation, autotuning).
        sync: called before reading the clock, e.g. ``torch.cuda.synchronize`` for work
            queued asynchronously on a GPU.

    Returns:
        Array of shape (repeats, len(fns)).
    """
    wait = sync or (lambda: None)
    for _ in range(warmup):
        for fn in fns:
            fn()
    wait()
    times = np.empty((repeats, len(fns)))
    for i in range(repeats):
        for j, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            wait()
            times[i, j] = time.perf_counter() - start
    return times


def median_ratio(numerator: np.ndarray, denominator: np.ndarray) -> float:
    """Median of the element-wise ratios of paired timings (robust to drift between pairs)."""
    return float(np.median(np.asarray(numerator) / np.asarray(denominator)))


def cpu_seconds_per_call(fn: Callable[[], object], repeats: int) -> float:
    """Median CPU time (all threads of this process) of one call of ``fn``, in seconds.

    Unlike wall time, CPU time does not grow while other processes hold the cores, so
    ``threads / cpu_seconds`` estimates the throughput of an otherwise idle machine. Threads
    that spin while waiting for work count as busy, so the estimate errs low.
    """
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return float(np.median(times))
