"""The schema of ``python -m lus_unet.train``'s config (``conf/train.yaml`` and its groups)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

import torch

import lus_unet.config.resolvers  # noqa: F401  (conf/train.yaml's ${data_size:...})
from lus_unet.config.data import Data, Despeckle, NotNegative, Positive, Seed
from lus_unet.config.model import Finetune, Model
from lus_unet.config.paths import TrainPaths
from lus_unet.config.rules import AtLeast, Explain, MayBeAbsent, OneOf, Range
from lus_unet.config.stages import Stages
from lus_unet.config.validate import join, show, validate
from lus_unet.errors import ConfigError
from lus_unet.training.callbacks import MONITOR_MODES
from lus_unet.training.losses import LOSS_NAMES
from lus_unet.training.optim import OPTIMIZER_NAMES, SCHEDULER_NAMES

NotNegativeNumber = Annotated[float, Range(ge=0)]
PositiveNumber = Annotated[float, Range(gt=0)]
Probability = Annotated[float, Range(gt=0, lt=1)]
CUDA_ACCELERATORS = ("gpu", "cuda")


def check_accelerator(node: Any, key: str) -> None:
    """Refuse a GPU accelerator (or more GPUs than there are) on a machine without them.

    Lightning would find out only once the data is prepared, in a traceback.

    Args:
        node: the ``trainer`` group.
        key: its dotted key.
    """
    accelerator, devices = node.get("accelerator"), node.get("devices")
    found = torch.cuda.device_count()
    if accelerator in CUDA_ACCELERATORS and found == 0:
        raise ConfigError(
            f"{join(key, 'accelerator')}={accelerator}: no CUDA GPU on this machine; "
            "valid here: cpu, auto (trainer=cpu)"
        )
    if accelerator in CUDA_ACCELERATORS and isinstance(devices, int) and devices > found:
        raise ConfigError(f"{join(key, 'devices')}={devices}: this machine has {found} GPU(s)")
    if accelerator == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{join(key, 'accelerator')}=mps: MPS is not available on this machine")


@dataclass
class Trainer:
    """``conf/trainer/*.yaml``: ``lightning.Trainer`` arguments; others pass through unchecked."""

    open_keys: ClassVar[bool] = True

    max_epochs: Annotated[
        int,
        AtLeast(1),
        Explain("must be an integer >= 1 (Lightning's -1, training without end, is refused)"),
    ]
    accelerator: Annotated[str, OneOf(("auto", "cpu", "gpu", "cuda", "mps"))]
    devices: int | str | list[int]
    precision: int | str
    log_every_n_steps: Positive
    deterministic: bool | str
    gradient_clip_val: Annotated[float | None, Range(ge=0)]
    gradient_clip_algorithm: Annotated[str | None, OneOf(("norm", "value"))]
    benchmark: Annotated[bool, MayBeAbsent()]
    strategy: Annotated[str, MayBeAbsent()]
    num_nodes: Annotated[Positive, MayBeAbsent()]

    check_together = staticmethod(check_accelerator)


@dataclass
class Optimizer:
    """``optimizer`` (set by the recipe): :func:`lus_unet.training.optim.build_optimizer`."""

    name: Annotated[str, OneOf(OPTIMIZER_NAMES)]
    weight_decay: NotNegativeNumber
    momentum: float

    @staticmethod
    def check_together(node: Any, key: str) -> None:
        """SGD's Nesterov momentum must lie strictly between 0 and 1."""
        if node.name == "sgd" and not 0 < node.momentum < 1:
            raise ConfigError(
                f"{join(key, 'momentum')}={show(node.momentum)}: must be between 0 and 1, "
                "exclusive (SGD's Nesterov momentum)"
            )


@dataclass
class Scheduler:
    """``scheduler`` (set by the recipe): :func:`lus_unet.training.optim.build_scheduler`."""

    name: Annotated[str, OneOf(SCHEDULER_NAMES)]
    warmup_epochs: NotNegativeNumber
    min_lr_ratio: Annotated[float, Range(ge=0, le=1)]
    power: PositiveNumber


@dataclass
class Recipe:
    """``recipe`` (``conf/recipe/*.yaml``): its name and which LUS frames are despeckled."""

    name: str
    despeckle: Despeckle  # read by conf/data/lus.yaml's preprocess.despeckle
    # Read by conf/stages/ (a fine-tuning stage's lr_factor); absent in a stage's own config.
    finetune_lr_factor: Annotated[PositiveNumber, MayBeAbsent()]


@dataclass
class Checkpoint:
    """``checkpoint``: which epoch is ``best.ckpt`` and the run's reported metrics.

    The mode follows from the metric (lower loss, higher Dice is better): a separate key could
    only contradict it.
    """

    monitor: Annotated[str, OneOf(tuple(MONITOR_MODES))]


@dataclass
class Performance:
    """``performance``: :class:`lus_unet.training.performance.PerformanceCallback`'s arguments."""

    channels_last: bool
    compile: bool


@dataclass
class TrainConfig:
    """``conf/train.yaml``, composed: the whole configuration of a training run."""

    model: Model
    finetune: Finetune
    data: Data
    trainer: Trainer
    performance: Performance
    recipe: Recipe
    checkpoint: Checkpoint
    loss: Annotated[str, OneOf(LOSS_NAMES)]
    optimizer: Optimizer
    scheduler: Scheduler
    task_name: str
    seed: Seed
    lr: PositiveNumber
    lr_scale: PositiveNumber
    threshold: Probability
    ema_decay: Annotated[float, Range(ge=0, lt=1)]
    resume: bool
    image_log_every_n_epochs: NotNegative
    distance_metrics_every_n_epochs: NotNegative
    init_from: str | None
    init_partial: bool
    init_created_by: str | None
    init_allow_val_overlap: bool
    paths: TrainPaths
    # The training protocol (conf/stages/); absent for a model without one (one stage).
    stages: Annotated[Stages, MayBeAbsent()]
    # Set by the protocol in each stage's own configuration: the stage it trains.
    stage: Annotated[str, MayBeAbsent()]
    # Absent unless given: `+fold=k` or `+fold=a..b` (checked against data.n_folds by train).
    fold: Annotated[Any, MayBeAbsent()]
    # Derived from data.n_frames and data.hflip_copies (lus_unet.config.resolvers).
    data_size: str


def check_train_config(cfg: Any) -> None:
    """Raise a one-line ConfigError (DataError for a missing data folder) before any work.

    Args:
        cfg: the composed training configuration.
    """
    validate(cfg, TrainConfig)
