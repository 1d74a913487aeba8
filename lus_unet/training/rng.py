"""Saving and restoring random-number generator states in checkpoints, for exact resume."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from lightning.pytorch.callbacks import Callback


def capture_rng_state() -> dict[str, Any]:
    """Python, NumPy and torch (CPU, and CUDA if present) generator states as tensors and ints.

    Only tensors, ints and lists are stored, so checkpoints still load with
    ``torch.load(..., weights_only=True)``.
    """
    version, python_state, gauss = random.getstate()
    _, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": [version, list(python_state), gauss],
        "numpy": [torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    version, python_state, gauss = state["python"]
    random.setstate((version, tuple(python_state), gauss))
    keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RNGStateCheckpoint(Callback):
    """Store the generators' states in every checkpoint and restore them on resume.

    Lightning restores model, optimizer, loops and callbacks but not the global generators
    that shuffle the data and draw augmentations; without them a resumed run sees other
    batches than an uninterrupted one.
    """

    def state_dict(self) -> dict[str, Any]:
        return capture_rng_state()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # Lightning loads callback states before the sanity check (which it runs with the
        # generators isolated) and before the first epoch's loader draws its shuffling seed,
        # so restoring here gives the first resumed epoch the batches of an uninterrupted run.
        restore_rng_state(state_dict)
