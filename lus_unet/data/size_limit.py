"""The pixel limit on frames and masks, checked from a file's header before its data is read.

A compressed file can declare an array far larger than itself (a 1 MB HDF5 ``.mat`` holding
a 50000 x 50000 frame of zeros), and reading it would exhaust the machine's memory before any
other check could run. The readers of :mod:`lus_unet.data.io` pass the shape a file declares
here first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from lus_unet.errors import DataError

# 16 megapixels (4096 x 4096): generous for ultrasound (a raw frame is ~960 x 128, a display
# export ~1000 x 1000) and for salient-object photographs.
MAX_PIXELS = 2**24
# A cine stack may hold this many frames of the largest size: a 960 x 128 clip of ~2000
# frames reads at the default, and the largest stack stays near 2 GB as float64.
STACK_FRAMES = 16
_SHOWN_AS_MEGAPIXELS = 100_000


def check_pixels(path: Path, shape: Sequence[int], max_pixels: int | None) -> None:
    """Refuse a declared array whose frame or whole stack is above the pixel limit.

    The frame is the two largest dimensions (whichever axis indexes a stack's frames); the
    whole array may hold ``STACK_FRAMES`` such frames.

    Args:
        path: the file, named in the error.
        shape: the array's shape as its header declares it (colour samples excluded).
        max_pixels: the limit (``max_pixels`` of the config); None: no limit.

    Raises:
        DataError: naming the file, the shape and the key that raises the limit.
    """
    if max_pixels is None:
        return
    dims = [int(n) for n in shape]
    frame = math.prod(sorted(dims)[-2:])
    total = math.prod(dims)
    declared = "x".join(map(str, dims))
    limit = f"the limit of max_pixels={max_pixels}{_in_megapixels(max_pixels)}"
    advice = "refused before reading it (raise max_pixels if the file is genuine)"
    if frame > max_pixels:
        raise DataError(path, f"frame of {declared} ({_pixels(frame)}) is above {limit}; {advice}")
    if total > max_pixels * STACK_FRAMES:
        raise DataError(
            path,
            f"stack of {declared} ({_pixels(total)}) is above the limit of {STACK_FRAMES} x "
            f"max_pixels={max_pixels}{_in_megapixels(STACK_FRAMES * max_pixels)} for a stack; "
            f"{advice}",
        )


def _pixels(n: int) -> str:
    return f"{n / 1e6:.1f} megapixels" if n >= _SHOWN_AS_MEGAPIXELS else f"{n} pixels"


def _in_megapixels(n: int) -> str:
    return f" ({n / 1e6:.1f} megapixels)" if n >= _SHOWN_AS_MEGAPIXELS else ""
