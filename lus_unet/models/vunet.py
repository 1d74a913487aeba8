"""V-UNet: a U-Net whose contracting path is torchvision's VGG16 ``features`` trunk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from lus_unet.models.blocks import UNetDecoder, check_choice, check_norm_activation
from lus_unet.models.groups import HoldsFrozenNormStatistics


@dataclass(frozen=True)
class VGGTrunk:
    """One VGG variant usable as the encoder.

    Attributes:
        label: the name used in messages.
        batch_norm: whether a BatchNorm2d sits between each conv and its ReLU.
        taps: indices into ``features`` of relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3.
    """

    label: str
    batch_norm: bool
    taps: tuple[int, ...]

    def build(self) -> nn.Sequential:
        """torchvision's ``features`` up to the last tap, initialised as torchvision does.

        Built with torchvision's own ``make_layers`` (the layer indices, hence the
        state-dict keys, are torchvision's), without the 120 M-parameter classifier that
        ``vgg16()`` would also build and initialise (a second per model).
        """
        features = make_layers(cfgs["D"], batch_norm=self.batch_norm)[: self.taps[-1] + 1]
        for module in features.modules():  # as torchvision's VGG.__init__
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        return features


# ``model.encoder``: the trunks, with their tap indices found by building them. vgg16_bn has
# a BatchNorm2d between every conv and its ReLU, which shifts the indices.
VGG_TRUNKS = {
    "vgg16": VGGTrunk("VGG16", batch_norm=False, taps=(3, 8, 15, 22, 29)),
    "vgg16_bn": VGGTrunk("VGG16-BN", batch_norm=True, taps=(5, 12, 22, 32, 42)),
}
ENCODERS = tuple(VGG_TRUNKS)
VGG16_TAPS = VGG_TRUNKS["vgg16"].taps
VGG16_CHANNELS = (64, 128, 256, 512, 512)


class VGGEncoder(nn.Module):
    """A VGG16 ``features`` trunk up to relu5_3 (pool5 unused), returning the tapped activations.

    The trunk is stored as ``features`` with torchvision's layer indices, so torchvision's
    ``features.N.*`` state-dict keys (weights, biases and, for ``vgg16_bn``, the batch norms'
    running statistics) load into it unchanged.

    Args:
        name: ``vgg16`` or ``vgg16_bn`` (see :data:`VGG_TRUNKS`).

    Returns (forward): relu1_2, relu2_2, relu3_3, relu4_3 (the skips) and relu5_3 (the
    deepest feature, 512 channels at 1/16), highest resolution first.
    """

    def __init__(self, name: str = "vgg16") -> None:
        super().__init__()
        self.name = check_choice("model.encoder", name, ENCODERS)
        self.trunk = VGG_TRUNKS[self.name]
        self.features = self.trunk.build()
        self.out_channels = list(VGG16_CHANNELS)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        taps, features = set(self.trunk.taps), []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in taps:
                features.append(x)
        return features


class VUNet(HoldsFrozenNormStatistics):
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
        encoder: ``vgg16`` (the paper) or ``vgg16_bn`` (torchvision's VGG16 with batch norm,
            14,723,136 parameters; a frozen one also keeps its running statistics).
        norm: normalisation in the decoder's conv stacks: ``none`` (the paper), ``batch``,
            ``instance`` or ``group`` (see :class:`~lus_unet.models.blocks.ConvStack`).
        activation: the decoder's activation, ``relu`` (the paper) or ``leaky_relu``.

    Raises:
        ConfigError: for an unknown ``encoder``, ``norm`` or ``activation``.
    """

    def __init__(
        self,
        decoder_convs: Sequence[int] = (3, 3, 2, 2),
        encoder: str = "vgg16",
        norm: str = "none",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        norm, activation = check_norm_activation(norm, activation)
        self.encoder = VGGEncoder(encoder)
        self.bottleneck = nn.Identity()
        *skip_channels, bottom_channels = self.encoder.out_channels
        self.decoder = UNetDecoder(bottom_channels, skip_channels, decoder_convs, norm, activation)
        self.head = nn.Conv2d(self.decoder.out_channels, 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logit map (N, 1, H, W); H and W must be divisible by 16."""
        *skips, deepest = self.encoder(x)
        bottom = self.bottleneck(deepest)
        return self.head(self.decoder(bottom, skips))
