"""Building blocks shared by the U-Nets: conv stacks and a decoder sized from the encoder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class ConvStack(nn.Sequential):
    """``n_convs`` 3x3 convolutions (padding 1), each followed by ReLU.

    Args:
        in_channels: channels of the input.
        out_channels: channels of every convolution's output.
        n_convs: number of conv + ReLU pairs.
    """

    def __init__(self, in_channels: int, out_channels: int, n_convs: int = 2) -> None:
        if n_convs < 1:
            raise ValueError(f"a conv stack needs at least one convolution, got {n_convs}")
        layers: list[nn.Module] = []
        for i in range(n_convs):
            layers += [
                nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3, padding=1),
                nn.ReLU(inplace=True),
            ]
        super().__init__(*layers)


class UpBlock(nn.Module):
    """One decoder level: 2x2 transposed conv (stride 2), concatenation with the skip, conv stack.

    Args:
        in_channels: channels of the deeper feature being up-sampled.
        skip_channels: channels of the encoder skip at the target resolution.
        out_channels: channels after the transposed conv and of every conv in the stack.
        n_convs: convolutions after the concatenation.
    """

    def __init__(
        self, in_channels: int, skip_channels: int, out_channels: int, n_convs: int
    ) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=2, stride=2)
        self.convs = ConvStack(out_channels + skip_channels, out_channels, n_convs)

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
    """

    def __init__(
        self,
        bottom_channels: int,
        skip_channels: Sequence[int],
        convs_per_level: Sequence[int],
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
            UpBlock(c_in, c_skip, c_skip, n)
            for c_in, c_skip, n in zip(in_channels, deepest_first, convs_per_level, strict=True)
        )
        self.out_channels = deepest_first[-1]

    def forward(self, x: torch.Tensor, skips: Sequence[torch.Tensor]) -> torch.Tensor:
        """Up-sample ``x`` through every level; ``skips`` are highest resolution first."""
        for level, skip in zip(self.levels, reversed(skips), strict=True):
            x = level(x, skip)
        return x
