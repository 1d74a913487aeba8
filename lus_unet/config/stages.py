"""The schema of ``stages`` (``conf/stages/*.yaml``): a run as a chain of training stages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from lus_unet.config.data import Data
from lus_unet.config.rules import AtLeast, OneOf, Range
from lus_unet.config.validate import join
from lus_unet.errors import ConfigError
from lus_unet.training.stages import FINETUNE_DIR

# A stage's `finetune` names a conf/finetune option, whose `freeze` list it takes.
FINETUNE_NAMES = tuple(sorted(path.stem for path in FINETUNE_DIR.glob("*.yaml")))


@dataclass
class Step:
    """One stage: what it freezes, its rate, its length and its data.

    Attributes:
        finetune: a ``conf/finetune`` option (None: the run's ``finetune``).
        lr_factor: the stage trains at ``lr * lr_factor``.
        epochs: its ``trainer.max_epochs`` (None: the run's).
        shared: fold-independent: trained once per configuration in the cache, then reused.
        data: its data group (None: the run's data).
    """

    finetune: Annotated[str | None, OneOf(FINETUNE_NAMES)]
    lr_factor: Annotated[float, Range(gt=0)]
    epochs: Annotated[int | None, AtLeast(1)]
    shared: bool
    data: Data | None


@dataclass
class Stages:
    """``conf/stages/*.yaml``: the stages in the order they run (empty: one stage)."""

    name: str
    order: list[str]
    steps: dict[str, Step]

    @staticmethod
    def check_together(node: Any, key: str) -> None:
        """Every step runs once, in ``order``; only the first may be shared, the last not."""
        order, steps = list(node.order), list(node.steps)
        if sorted(order) != sorted(steps) or len(set(order)) != len(order):
            raise ConfigError(
                f"{join(key, 'order')}={order}: must name each of {join(key, 'steps')} "
                f"({', '.join(steps) or 'none'}) once"
            )
        shared = [name for name in order if node.steps[name].shared]
        if shared and (shared != order[:1] or len(order) < 2):
            raise ConfigError(
                f"{join(key, 'steps')}.{shared[-1]}.shared=true: only the first of two or more "
                "stages can be shared (a fold-independent start that later stages fine-tune)"
            )
