"""Inference: preprocessed frames -> mean probability of an ensemble -> binary masks.

Frames are preprocessed by :func:`lus_unet.data.frames.prepare_frame`, as in training.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch
from scipy import ndimage
from torch import nn

from lus_unet.data.network_input import as_network_input
from lus_unet.data.preprocess import resize_image
from lus_unet.evaluation.checkpoints import LoadedCheckpoint, resolve_device

T = TypeVar("T")

# Components are 8-connected, as in lus_unet.metrics.components.
_BLOCK = ndimage.generate_binary_structure(2, 2)


@dataclass(frozen=True)
class InferenceSettings:
    """How probabilities become masks, shared by ``evaluate`` and ``predict``.

    Checked by their schema (:class:`lus_unet.config.inference.Inference`).

    Args:
        threshold: probability above which a pixel is rib (training's default: 0.5).
        tta: average in the horizontal-flip prediction of every network.
        largest_component: keep only each mask's largest 8-connected component.
        batch_size: frames per forward pass; None = the batch size the model trained with.
        device: ``auto`` (CUDA when available) or a torch device name.
    """

    threshold: float = 0.5
    tta: bool = False
    largest_component: bool = False
    batch_size: int | None = None
    device: str = "auto"

    @classmethod
    def from_config(cls, cfg: Any) -> InferenceSettings:
        """The settings from a config holding keys of the same names (``conf/inference``)."""
        return cls(**{name: cfg[name] for name in cls.__dataclass_fields__})

    def batch_size_for(self, models: Sequence[LoadedCheckpoint]) -> int:
        """The configured batch size, else the first model's training batch size."""
        return int(self.batch_size or models[0].run_config["data"]["batch_size"])

    def ensemble(self, models: Sequence[LoadedCheckpoint]) -> Ensemble:
        """An :class:`Ensemble` of the models' networks with these settings' TTA."""
        return Ensemble([m.net for m in models], self.tta)

    def torch_device(self) -> torch.device:
        """The device to load the networks on."""
        return resolve_device(self.device)

    def mask(self, prob: np.ndarray) -> np.ndarray:
        """The hard mask of a probability map: :func:`binary_mask` with these settings."""
        return binary_mask(prob, self.threshold, self.largest_component)


class Ensemble:
    """Mean sigmoid probability of one or more networks, optionally with flip TTA.

    With ``tta`` every network also sees the horizontally flipped frame, and its probability
    map, flipped back, enters the mean with the same weight. One network without TTA gives
    exactly ``sigmoid(logits)``, as in training's validation.

    Args:
        nets: networks in eval mode, all on one device (the frames are sent there).
        tta: average in the horizontal-flip prediction.
    """

    def __init__(self, nets: Sequence[nn.Module], tta: bool = False) -> None:
        if not nets:
            raise ValueError("an ensemble needs at least one network")
        self.nets = list(nets)
        self.device = next(self.nets[0].parameters()).device
        self.tta = tta

    @torch.inference_mode()
    def __call__(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W) float32 frames in [0, 1] -> (N, H, W) float32 probabilities.

        Args:
            images: a batch of preprocessed frames.
        """
        x = as_network_input(images).to(self.device)
        total = torch.zeros((x.shape[0], 1, *x.shape[2:]), device=self.device)
        for net in self.nets:
            total += torch.sigmoid(net(x))
            if self.tta:
                total += torch.sigmoid(net(x.flip(-1))).flip(-1)
        terms = len(self.nets) * (2 if self.tta else 1)
        return (total / terms)[:, 0].cpu().numpy()


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
