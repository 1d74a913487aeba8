"""The schema of the paper grid's machine profiles (``conf/paper/<profile>.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PaperModels:
    """Train overrides of the stages of each model."""

    xunet: list[str]
    vunet: list[str]


@dataclass
class PaperProfile:
    """One profile of ``python -m lus_unet.paper --profile``: where runs go, what they add."""

    paper_dir: str
    all: list[str]
    models: PaperModels
