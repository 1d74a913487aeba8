"""The networks' input: preprocessed grayscale frames repeated to three channels."""

from __future__ import annotations

import numpy as np
import torch

# Every network takes three channels: V-UNet's ImageNet VGG16 encoder needs them, and X-UNet
# keeps the same input so that one data pipeline serves both (as in the paper).
IN_CHANNELS = 3


def as_network_input(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Preprocessed frames (..., H, W) in [0, 1] -> the float32 tensor (..., 3, H, W) networks take.

    The one place the input is made (training's samples, evaluation, prediction and report
    figures): the grayscale frame repeated, with no ImageNet normalisation, as in the paper.

    Args:
        frames: one (H, W) frame or a (N, H, W) batch, e.g. from
            :func:`lus_unet.data.frames.prepare_frame`.
    """
    if isinstance(frames, np.ndarray):
        frames = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32))
    x = frames.float().unsqueeze(-3)
    return x.expand(*x.shape[:-3], IN_CHANNELS, *x.shape[-2:]).contiguous()
