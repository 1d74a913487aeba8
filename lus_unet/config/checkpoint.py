"""The schema of the configuration a checkpoint stores (``hyper_parameters.run_config``).

Evaluation and prediction rebuild a network and its data readers from it, so a hand-edited
or foreign checkpoint is checked first, like a user's config: the keys inference uses
(``model``, ``data``, ``seed``, ``fold``); the rest of the training config passes unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from lus_unet.config.data import LUSData, SalientData, Seed
from lus_unet.config.model import Model
from lus_unet.config.rules import MayBeAbsent, Range


@dataclass
class StoredLUSData(LUSData):
    """``data`` of a LUS training run, as stored."""

    # The training machine's data folder need not exist where the checkpoint is used.
    check_together: ClassVar[None] = None


@dataclass
class StoredSalientData(SalientData):
    """``data`` of a salient-object training run, as stored."""

    check_together: ClassVar[None] = None


@dataclass
class StoredRunConfig:
    """What inference reads of a checkpoint's ``run_config``."""

    open_keys: ClassVar[bool] = True

    model: Model
    data: StoredLUSData | StoredSalientData
    seed: Seed
    fold: Annotated[int | None, Range(ge=0), MayBeAbsent()]
