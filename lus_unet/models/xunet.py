"""X-UNet: the plain U-Net that the paper pre-trains on grayscale salient-object images."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from lus_unet.models.blocks import ConvStack, UNetDecoder, check_norm_activation
from lus_unet.models.groups import HoldsFrozenNormStatistics


class UNetEncoder(nn.Module):
    """Contracting path: two-conv blocks with 2x2 max pooling between them.

    Args:
        in_channels: input channels (3: the grayscale frame repeated).
        channels: filters per block, highest resolution first.
        norm: normalisation after each conv (see :class:`~lus_unet.models.blocks.ConvStack`).
        activation: activation after each conv [and norm].

    Returns (forward): the output of every block, highest resolution first; these are the
    skip connections.
    """

    def __init__(
        self,
        in_channels: int,
        channels: Sequence[int],
        norm: str = "none",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        widths = [in_channels, *channels]
        self.blocks = nn.ModuleList(
            ConvStack(a, b, norm=norm, activation=activation) for a, b in pairwise(widths)
        )
        self.pool = nn.MaxPool2d(2)
        self.out_channels = list(channels)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for i, block in enumerate(self.blocks):
            x = block(x if i == 0 else self.pool(x))
            features.append(x)
        return features


class XUNet(HoldsFrozenNormStatistics):
    """Plain U-Net (64..1024 filters at full width), 31,031,745 parameters as in the paper.

    Parameter groups, by attribute name: ``encoder`` (four two-conv blocks), ``bottleneck``
    (max pooling + two 1024-filter convs, 14,157,824 parameters), ``decoder`` (four
    levels of transposed conv + two convs) and ``head`` (1x1 conv to one logit channel).

    Args:
        in_channels: input channels.
        base_channels: filters of the first block; each deeper block doubles them (64 is the
            paper's network; smaller values give the same topology for CPU runs and tests).
        decoder_convs: convolutions per decoder level, deepest first.
        norm: ``none`` (the paper: conv with bias -> activation), ``batch``, ``instance`` or
            ``group``: conv without bias -> norm -> activation, in every conv stack (the
            transposed convs and the head keep their bias). See
            :class:`~lus_unet.models.blocks.ConvStack`.
        activation: ``relu`` (the paper) or ``leaky_relu`` (negative slope 0.1, MONAI's).

    Raises:
        ConfigError: for an unknown ``norm`` or ``activation``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        base_channels: int = 64,
        decoder_convs: Sequence[int] = (2, 2, 2, 2),
        norm: str = "none",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        norm, activation = check_norm_activation(norm, activation)
        channels = [base_channels * 2**i for i in range(4)]
        self.encoder = UNetEncoder(in_channels, channels, norm, activation)
        self.bottleneck = nn.Sequential(
            nn.MaxPool2d(2),
            ConvStack(channels[-1], 2 * channels[-1], norm=norm, activation=activation),
        )
        self.decoder = UNetDecoder(2 * channels[-1], channels, decoder_convs, norm, activation)
        self.head = nn.Conv2d(self.decoder.out_channels, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logit map (N, 1, H, W); H and W must be divisible by 16."""
        skips = self.encoder(x)
        bottom = self.bottleneck(skips[-1])
        return self.head(self.decoder(bottom, skips))
