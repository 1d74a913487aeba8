"""Building blocks shared by the U-Nets: conv stacks and a decoder sized from the encoder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lus_unet.errors import ConfigError

# ``model.norm``: ``none`` is the paper's network (conv with bias, then the activation).
NORMS = ("none", "batch", "instance", "group")
# ``model.activation``: ``relu`` is the paper's; leaky_relu uses MONAI BasicUNet's slope.
ACTIVATIONS = ("relu", "leaky_relu")
LEAKY_RELU_SLOPE = 0.1
# Group norm: this many groups when the channels allow it (see :func:`group_norm_groups`).
GROUP_NORM_GROUPS = 8


def check_choice(key: str, value: object, valid: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``valid``, else raise a one-line ConfigError naming
    ``key``, the value and the valid ones."""
    if value not in valid:
        raise ConfigError(f"{key}={value}: unknown value; valid: {', '.join(valid)}")
    return str(value)


def check_norm_activation(norm: str | None, activation: str) -> tuple[str, str]:
    """Validate ``model.norm`` (None reads as ``none``) and ``model.activation``."""
    norm = "none" if norm is None else norm
    return check_choice("model.norm", norm, NORMS), check_choice(
        "model.activation", activation, ACTIVATIONS
    )


def group_norm_groups(channels: int) -> int:
    """Groups for group norm over ``channels``: the largest count up to
    :data:`GROUP_NORM_GROUPS` (8) that divides the channels and leaves at least two channels
    per group (one group for a single channel).

    Every width of the paper's networks (64..1024) gets 8 groups; narrow CPU widths get fewer
    (4 channels: 2 groups of 2; 8 channels: 4 groups of 2; 12 channels: 6 groups of 2).
    """
    for groups in range(min(GROUP_NORM_GROUPS, channels // 2), 0, -1):
        if channels % groups == 0:
            return groups
    return 1


_NORM_LAYERS = {
    "batch": nn.BatchNorm2d,
    "instance": lambda channels: nn.InstanceNorm2d(channels, affine=True),
    "group": lambda channels: nn.GroupNorm(group_norm_groups(channels), channels),
}
_ACTIVATION_LAYERS = {
    "relu": lambda: nn.ReLU(inplace=True),
    "leaky_relu": lambda: nn.LeakyReLU(LEAKY_RELU_SLOPE, inplace=True),
}


def make_norm(norm: str, channels: int) -> nn.Module:
    """The normalisation layer named by ``model.norm`` (any but ``none``).

    ``batch``: BatchNorm2d; ``instance``: InstanceNorm2d with a learned scale and shift
    (affine=True, no running statistics, as in MONAI); ``group``: GroupNorm with
    :func:`group_norm_groups` groups.
    """
    return _NORM_LAYERS[check_choice("model.norm", norm, tuple(_NORM_LAYERS))](channels)


def make_activation(activation: str) -> nn.Module:
    """ReLU, or LeakyReLU with MONAI BasicUNet's negative slope 0.1 (both in place)."""
    return _ACTIVATION_LAYERS[check_choice("model.activation", activation, ACTIVATIONS)]()


class ConvStack(nn.Sequential):
    """``n_convs`` 3x3 convolutions (padding 1), each followed by [norm and] an activation.

    With ``norm="none"`` (the paper) each step is conv (with bias) -> activation, and the
    layer indices (hence state-dict keys) are ``0, 2, 4...`` for the convolutions. With a
    norm, each step is conv (no bias: the norm's affine shift replaces it) -> norm ->
    activation.

    Args:
        in_channels: channels of the input.
        out_channels: channels of every convolution's output.
        n_convs: number of conv [+ norm] + activation steps.
        norm: ``none``, ``batch``, ``instance`` or ``group`` (see :func:`make_norm`).
        activation: ``relu`` or ``leaky_relu`` (see :func:`make_activation`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        n_convs: int = 2,
        norm: str = "none",
        activation: str = "relu",
    ) -> None:
        if n_convs < 1:
            raise ValueError(f"a conv stack needs at least one convolution, got {n_convs}")
        norm, activation = check_norm_activation(norm, activation)
        layers: list[nn.Module] = []
        for i in range(n_convs):
            conv_in = in_channels if i == 0 else out_channels
            layers.append(nn.Conv2d(conv_in, out_channels, 3, padding=1, bias=norm == "none"))
            if norm != "none":
                layers.append(make_norm(norm, out_channels))
            layers.append(make_activation(activation))
        super().__init__(*layers)


class UpBlock(nn.Module):
    """One decoder level: 2x2 transposed conv (stride 2), concatenation with the skip, conv stack.

    Args:
        in_channels: channels of the deeper feature being up-sampled.
        skip_channels: channels of the encoder skip at the target resolution.
        out_channels: channels after the transposed conv and of every conv in the stack.
        n_convs: convolutions after the concatenation.
        norm: normalisation after each conv (see :class:`ConvStack`).
        activation: activation after each conv [and norm].
    """

    def __init__(
        self,
        in_channels: int,
        skip_channels: int,
        out_channels: int,
        n_convs: int,
        norm: str = "none",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
        self.convs = ConvStack(
            out_channels + skip_channels, out_channels, n_convs, norm=norm, activation=activation
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.convs(torch.cat([self.up(x), skip], dim=1))


class UNetDecoder(nn.Module):
    """The expanding path: one :class:`UpBlock` per skip, deepest first.

    Its widths mirror the encoder's: level ``i`` outputs as many channels as the skip it
    joins, so the decoder is fully determined by the encoder's channel list.

    Args:
        bottom_channels: channels of the deepest feature (the bottleneck's output).
        skip_channels: channels of the encoder skips, highest resolution first.
        convs_per_level: convolutions per level, deepest first (one entry per skip).
        norm: normalisation after each conv (see :class:`ConvStack`).
        activation: activation after each conv [and norm].
    """

    def __init__(
        self,
        bottom_channels: int,
        skip_channels: Sequence[int],
        convs_per_level: Sequence[int],
        norm: str = "none",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if len(convs_per_level) != len(skip_channels):
            raise ValueError(
                f"convs_per_level needs one entry per decoder level ({len(skip_channels)}), "
                f"got {list(convs_per_level)}"
            )
        deepest_first = list(reversed(skip_channels))
        in_channels = [bottom_channels, *deepest_first[:-1]]
        self.levels = nn.ModuleList(
            UpBlock(c_in, c_skip, c_skip, n, norm, activation)
            for c_in, c_skip, n in zip(in_channels, deepest_first, convs_per_level, strict=True)
        )
        self.out_channels = deepest_first[-1]

    def forward(self, x: torch.Tensor, skips: Sequence[torch.Tensor]) -> torch.Tensor:
        """Up-sample ``x`` through every level; ``skips`` are highest resolution first."""
        for level, skip in zip(self.levels, reversed(skips), strict=True):
            x = level(x, skip)
        return x
