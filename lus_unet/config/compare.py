"""The schema of ``python -m lus_unet.compare`` (``conf/compare.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from lus_unet.config.data import ImageSize, NotNegative, Positive, Seed
from lus_unet.config.paths import OutputPaths
from lus_unet.config.rules import Explain, NotEmpty
from lus_unet.config.validate import show
from lus_unet.errors import ConfigError


@dataclass
class Budget:
    """``budget``: what every entry trains with."""

    epochs: Positive
    batch_size: Positive
    image_size: ImageSize


@dataclass
class CompareConfig:
    """``conf/compare.yaml``; each entry's train config is checked by the compare entry point."""

    task_name: str
    seed: Seed
    folds: Annotated[
        list[NotNegative], NotEmpty(), Explain("needs a list of folds, e.g. folds=[0,1,2,3,4]")
    ]
    reference: str
    resume: bool
    budget: Budget
    common: list[str]
    extra: list[str]
    entries: dict[str, list[str]]
    paths: OutputPaths

    @staticmethod
    def check_together(node: Any, key: str) -> None:
        """The reference must be one of the entries."""
        if node.reference not in node.entries:
            raise ConfigError(
                f"reference={show(node.reference)}: not an entry; entries: "
                f"{', '.join(str(name) for name in node.entries)}"
            )
