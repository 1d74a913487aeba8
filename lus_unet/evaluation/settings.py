"""How probabilities become masks, without torch: settings, resizing, thresholding, batching.

Shared by ``evaluate`` and ``predict``, and by predict's exported-model path, which needs
neither torch nor Lightning (:mod:`lus_unet.deploy.runtime`); the torch ensemble of
checkpoints is :mod:`lus_unet.evaluation.inference`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from scipy import ndimage

from lus_unet.data.preprocess import resize_image

if TYPE_CHECKING:
    from lus_unet.evaluation.checkpoints import LoadedCheckpoint

T = TypeVar("T")

# Components are 8-connected, as in lus_unet.metrics.components.
_BLOCK = ndimage.generate_binary_structure(2, 2)


@dataclass(frozen=True)
class InferenceSettings:
    """How probabilities become masks, shared by ``evaluate`` and ``predict``.

    Checked by their schema (:class:`lus_unet.config.inference.Inference`).

    Args:
        threshold: probability above which a pixel is rib (training's default: 0.5); None =
            the model's own (see :meth:`with_model_threshold`).
        tta: average in the horizontal-flip prediction of every network.
        largest_component: keep only each mask's largest 8-connected component.
        batch_size: frames per forward pass; None = the batch size the model trained with.
        device: ``auto`` (CUDA when available) or a torch device name.
    """

    threshold: float | None = 0.5
    tta: bool = False
    largest_component: bool = False
    batch_size: int | None = None
    device: str = "auto"

    @classmethod
    def from_config(cls, cfg: Any) -> InferenceSettings:
        """The settings from a config holding keys of the same names (``conf/inference``)."""
        return cls(**{name: cfg[name] for name in cls.__dataclass_fields__})

    def with_model_threshold(self, threshold: float) -> InferenceSettings:
        """These settings, with ``threshold`` where none is configured.

        Args:
            threshold: the model's own: its training run's, or an exported file's metadata.
        """
        return self if self.threshold is not None else replace(self, threshold=threshold)

    def batch_size_for(self, models: Sequence[LoadedCheckpoint]) -> int:
        """The configured batch size, else the first model's training batch size."""
        return int(self.batch_size or models[0].run_config["data"]["batch_size"])

    def mask(self, prob: np.ndarray) -> np.ndarray:
        """The hard mask of a probability map: :func:`binary_mask` with these settings."""
        if self.threshold is None:
            raise ValueError("no threshold: call with_model_threshold first")
        return binary_mask(prob, self.threshold, self.largest_component)


def resize_probabilities(prob: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A probability map resized to ``shape``: bilinear where enlarged, area-averaged where shrunk.

    The same resampling as the frames' (``resize_image``), so a map stays aligned with the
    frame it came from; values stay in [0, 1].

    Args:
        prob: 2-D probability map at the network's size.
        shape: (height, width) wanted, e.g. the original frame's.
    """
    return resize_image(prob, shape)


def largest_component(mask: np.ndarray) -> np.ndarray:
    """Keep only the largest 8-connected component of a binary mask (ties: the first found).

    Args:
        mask: 2-D binary mask.
    """
    labels, n = ndimage.label(mask, structure=_BLOCK)
    if n <= 1:
        return labels > 0
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    return labels == int(np.argmax(sizes)) + 1


def binary_mask(prob: np.ndarray, threshold: float, largest_only: bool = False) -> np.ndarray:
    """Hard mask ``prob > threshold`` (as in training), optionally its largest component only.

    Args:
        prob: 2-D probability map.
        threshold: probability above which a pixel is rib.
        largest_only: drop every component but the largest (removes detached blobs).
    """
    mask = prob > threshold
    return largest_component(mask) if largest_only else mask


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items (the last may be shorter).

    Args:
        items: any iterable; consumed lazily.
        size: batch size, at least 1.
    """
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
