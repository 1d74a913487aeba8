"""The reference U-Net of the design (section 6): MONAI's ``BasicUNet``, in our groups.

``model=reference`` judges recipes against one fixed network: MONAI
``BasicUNet(spatial_dims=2, in_channels=1, out_channels=1, features=(16, 16, 32, 64, 128, 16))``
(instance norm, LeakyReLU 0.1, about 0.5 M parameters). MONAI is an optional dependency (the
``compare`` extra), imported only when this model is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from lus_unet.errors import ConfigError
from lus_unet.models.groups import HoldsFrozenNormStatistics

REFERENCE_FEATURES = (16, 16, 32, 64, 128, 16)
ENCODER_PARTS = ("conv_0", "down_1", "down_2", "down_3")
DECODER_PARTS = ("upcat_4", "upcat_3", "upcat_2", "upcat_1")
MONAI_MISSING = "model=reference needs MONAI: pip install 'lus_unet[compare]' (or make setup)"


class ReferenceUNet(HoldsFrozenNormStatistics):
    """MONAI's BasicUNet, its parts regrouped into ``encoder``, ``bottleneck``, ``decoder``
    and ``head`` so that the freezing strategies and the summary apply to it.

    ``encoder`` holds BasicUNet's ``conv_0``, ``down_1``..``down_3``; ``bottleneck`` is
    ``down_4``; ``decoder`` holds ``upcat_4``..``upcat_1``; ``head`` is ``final_conv``. The
    parts keep their MONAI names inside the ``encoder`` and ``decoder`` dicts
    (``encoder.down_1.*``, ``decoder.upcat_4.*``); :meth:`basic_unet_state_dict` maps the keys
    back to BasicUNet's. ``forward`` is ``BasicUNet.forward`` step for step.

    The data loader feeds the grayscale frame repeated to 3 channels (V-UNet's and X-UNet's
    input); BasicUNet takes one, so ``forward`` uses the first channel only.

    Args:
        net: a 2-D ``monai.networks.nets.BasicUNet`` with one input channel.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.encoder = nn.ModuleDict({name: getattr(net, name) for name in ENCODER_PARTS})
        self.bottleneck = net.down_4
        self.decoder = nn.ModuleDict({name: getattr(net, name) for name in DECODER_PARTS})
        self.head = net.final_conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logit map (N, 1, H, W) of the first input channel; H, W divisible by 16."""
        x0 = self.encoder["conv_0"](x[:, :1])
        x1 = self.encoder["down_1"](x0)
        x2 = self.encoder["down_2"](x1)
        x3 = self.encoder["down_3"](x2)
        x4 = self.bottleneck(x3)
        u4 = self.decoder["upcat_4"](x4, x3)
        u3 = self.decoder["upcat_3"](u4, x2)
        u2 = self.decoder["upcat_2"](u3, x1)
        u1 = self.decoder["upcat_1"](u2, x0)
        return self.head(u1)

    def basic_unet_state_dict(self) -> dict[str, Any]:
        """This network's weights under BasicUNet's own keys, to load into a BasicUNet."""
        renamed = {"bottleneck": "down_4", "head": "final_conv"}
        state = {}
        for key, value in self.state_dict().items():
            group, rest = key.split(".", 1)
            state[f"{renamed[group]}.{rest}" if group in renamed else rest] = value
        return state


def build_reference(features: Sequence[int] = REFERENCE_FEATURES) -> ReferenceUNet:
    """Build the reference U-Net (MONAI BasicUNet, 2-D, 1 input and 1 output channel).

    Args:
        features: BasicUNet's six widths: four encoder levels, the bottleneck, the last
            decoder level.

    Raises:
        ConfigError: when MONAI is not installed, or ``features`` is not six positive ints.
    """
    features = tuple(features)
    if len(features) != 6 or not all(isinstance(f, int) and f > 0 for f in features):
        raise ConfigError(
            f"model.features={list(features)}: needs six positive integers (BasicUNet's widths: "
            "four encoder levels, the bottleneck, the last decoder level)"
        )
    try:
        from monai.networks.nets import BasicUNet
    except ImportError as error:
        raise ConfigError(MONAI_MISSING) from error
    net = BasicUNet(spatial_dims=2, in_channels=1, out_channels=1, features=features)
    return ReferenceUNet(net)
