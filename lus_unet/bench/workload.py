"""What one timed measurement runs: the X-UNet's width, its square batches and the repeats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Workload:
    """The problem size and repeat counts of one timed measurement.

    Attributes:
        image_size: square input side (256 = the paper's).
        batch_size: images per step or call.
        repeats: timed steps or calls of each variant.
        warmup: untimed ones of each variant first (allocator, caches, compilation).
        base_channels: X-UNet width (64 = the paper's).
        seed: initialisation and data seed.
    """

    image_size: int = 256
    batch_size: int = 2
    repeats: int = 3
    warmup: int = 1
    base_channels: int = 64
    seed: int = 0

    def setup(self) -> dict[str, Any]:
        """The settings a result reports: the network, the image size and the batch size."""
        return {
            "model": f"xunet base_channels={self.base_channels}",
            "image_size": self.image_size,
            "batch_size": self.batch_size,
        }
