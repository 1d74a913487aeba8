"""The schema of the paper grid's machine profiles (``conf/paper/<profile>.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from lus_unet.config.rules import AtLeast


@dataclass
class PaperModels:
    """Train overrides of the stages of each model."""

    xunet: list[str]
    vunet: list[str]


@dataclass
class PaperProfile:
    """One profile of ``python -m lus_unet.paper --profile``: where runs go, what they add."""

    paper_dir: str
    folds: Annotated[int, AtLeast(2)]
    all: list[str]
    models: PaperModels
