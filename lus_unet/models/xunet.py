"""X-UNet: the plain U-Net that the paper pre-trains on grayscale salient-object images."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from lus_unet.models.blocks import ConvStack, UNetDecoder


class UNetEncoder(nn.Module):
    """Contracting path: two-conv blocks with 2x2 max pooling between them.

    Args:
        in_channels: input channels (3: the grayscale frame repeated).
        channels: filters per block, highest resolution first.

    Returns (forward): the output of every block, highest resolution first; these are the
    skip connections.
    """

    def __init__(self, in_channels: int, channels: Sequence[int]) -> None:
        super().__init__()
        widths = [in_channels, *channels]
        self.blocks = nn.ModuleList(ConvStack(a, b) for a, b in pairwise(widths))
        self.pool = nn.MaxPool2d(2)
        self.out_channels = list(channels)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for i, block in enumerate(self.blocks):
            x = block(x if i == 0 else self.pool(x))
            features.append(x)
        return features


class XUNet(nn.Module):
    """Plain U-Net (64..1024 filters at full width), 31,031,745 parameters.

    Parameter groups, by attribute name: ``encoder`` (four two-conv blocks), ``bottleneck``
    (max pooling + two 1024-filter convs, 14,157,824 parameters), ``decoder`` (four
    levels of transposed conv + two convs) and ``head`` (1x1 conv to one logit channel).

    Args:
        in_channels: input channels.
        base_channels: filters of the first block; each deeper block doubles them (64 is the
            paper's network; smaller values give the same topology for CPU runs and tests).
        decoder_convs: convolutions per decoder level, deepest first.
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 64,
        decoder_convs: Sequence[int] = (2, 2, 2, 2),
    ) -> None:
        super().__init__()
        channels = [base_channels * 2**i for i in range(4)]
        self.encoder = UNetEncoder(in_channels, channels)
        self.bottleneck = nn.Sequential(nn.MaxPool2d(2), ConvStack(channels[-1], 2 * channels[-1]))
        self.decoder = UNetDecoder(2 * channels[-1], channels, decoder_convs)
        self.head = nn.Conv2d(self.decoder.out_channels, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logit map (N, 1, H, W); H and W must be divisible by 16."""
        skips = self.encoder(x)
        bottom = self.bottleneck(skips[-1])
        return self.head(self.decoder(bottom, skips))
