"""Inference: preprocessed frames -> mean probability of an ensemble of checkpoints' networks.

Frames are preprocessed by :func:`lus_unet.data.frames.prepare_frame`, as in training; how
probabilities become masks lives in :mod:`lus_unet.evaluation.settings` (torch-free, shared
with the exported-model runtime) and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from lus_unet.data.network_input import as_network_input
from lus_unet.evaluation.settings import (
    InferenceSettings,
    batched,
    binary_mask,
    largest_component,
    resize_probabilities,
)

__all__ = [
    "Ensemble",
    "InferenceSettings",
    "batched",
    "binary_mask",
    "largest_component",
    "resize_probabilities",
]


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
