"""V-UNet: a U-Net whose contracting path is torchvision's VGG16 ``features`` trunk."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torchvision.models import vgg16

from lus_unet.models.blocks import UNetDecoder

# Indices into ``vgg16().features`` of relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3.
VGG16_TAPS = (3, 8, 15, 22, 29)
VGG16_CHANNELS = (64, 128, 256, 512, 512)


class VGG16Encoder(nn.Module):
    """VGG16 ``features`` up to relu5_3 (pool5 unused), returning the tapped activations.

    The trunk is stored as ``features`` with torchvision's layer indices, so torchvision's
    ``features.N.weight|bias`` state-dict keys load into it unchanged.

    Returns (forward): relu1_2, relu2_2, relu3_3, relu4_3 (the skips) and relu5_3 (the
    deepest feature, 512 channels at 1/16), highest resolution first.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = vgg16(weights=None).features[: VGG16_TAPS[-1] + 1]
        self.out_channels = list(VGG16_CHANNELS)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps, features = set(VGG16_TAPS), []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in taps:
                features.append(x)
        return features


class VUNet(nn.Module):
    """U-Net with a VGG16 encoder, 28,804,545 parameters with the paper's 3/3/2/2 decoder.

    Parameter groups, by attribute name: ``encoder`` (the VGG16 trunk, 14,714,688
    parameters), ``bottleneck``, ``decoder`` and ``head`` (1x1 conv to one logit).

    V-UNet's bottleneck, the bottom of the "U", is VGG16's conv5 block (relu5_1..relu5_3 at
    1/16 resolution), which is part of the pre-trained trunk. Keeping the trunk whole in
    ``encoder`` makes "encoder frozen" freeze exactly the ImageNet weights, so the
    ``bottleneck`` attribute is a parameter-free identity: freezing it on V-UNet has nothing
    to freeze, and the freezing code reports that as an error instead of doing nothing.

    Args:
        decoder_convs: convolutions per decoder level, deepest first. The paper's text and
            Figure 2 give (3, 3, 2, 2); the authors' public code builds (2, 2, 2, 2), which has
            25,854,657 parameters.
    """

    def __init__(self, decoder_convs: Sequence[int] = (3, 3, 2, 2)) -> None:
        super().__init__()
        self.encoder = VGG16Encoder()
        self.bottleneck = nn.Identity()
        *skip_channels, bottom_channels = self.encoder.out_channels
        self.decoder = UNetDecoder(bottom_channels, skip_channels, decoder_convs)
        self.head = nn.Conv2d(self.decoder.out_channels, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logit map (N, 1, H, W); H and W must be divisible by 16."""
        *skips, deepest = self.encoder(x)
        bottom = self.bottleneck(deepest)
        return self.head(self.decoder(bottom, skips))
