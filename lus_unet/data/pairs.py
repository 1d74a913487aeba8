"""An image file and its mask file: what discovery finds and the readers read.

A module of its own so that both :mod:`lus_unet.data.discover` (which needs the readers' file
types) and :mod:`lus_unet.data.io` (which reads pairs) can import it without importing each
other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourcePair:
    """An image file and its mask file, with the sample id they share."""

    id: str
    image: Path
    mask: Path
