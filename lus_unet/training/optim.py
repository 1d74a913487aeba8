"""Optimisers and learning-rate schedules by name (the ``optimizer`` and ``scheduler`` configs)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from lus_unet.errors import ConfigError

OPTIMIZER_NAMES = ("adam", "adamw", "sgd")
SCHEDULER_NAMES = ("none", "cosine", "poly")


def build_optimizer(
    params: Iterable[torch.nn.Parameter],
    lr: float,
    name: str = "adam",
    weight_decay: float = 0.0,
    momentum: float = 0.9,
) -> torch.optim.Optimizer:
    """An optimiser over ``params``.

    Args:
        params: the parameters to train (the trainable ones only: frozen ones stay out).
        lr: the base learning rate.
        name: ``adam`` (the paper's; ``weight_decay`` is an L2 penalty added to the gradient),
            ``adamw`` (decoupled weight decay) or ``sgd`` (Nesterov momentum).
        weight_decay: weight-decay coefficient (0 = none).
        momentum: SGD's momentum; unused by Adam and AdamW.
    """
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, nesterov=True, weight_decay=weight_decay
        )
    raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZER_NAMES)}")


def uses_scheduler(name: str = "none", warmup_epochs: float = 0.0, **_: object) -> bool:
    """Whether the ``scheduler`` config changes the learning rate during training."""
    return name != "none" or warmup_epochs > 0


@dataclass
class LRSchedule:
    """The factor of the base learning rate used by optimisation step ``step`` (0 = the first).

    A linear warm-up over ``warmup_steps`` steps, ``(step + 1) / (warmup_steps + 1)`` (so the
    first step uses ``lr / (warmup_steps + 1)`` and step ``warmup_steps`` the full ``lr``), then
    with progress ``p = (step - warmup_steps) / (total_steps - warmup_steps)``:

    - ``none``: 1 (constant after the warm-up);
    - ``cosine``: ``r + (1 - r) * (1 + cos(pi * p)) / 2``;
    - ``poly``: ``r + (1 - r) * (1 - p) ** power``;

    with ``r = min_lr_ratio``. After the last step (``step = total_steps``) the factor is ``r``.
    As a :class:`torch.optim.lr_scheduler.LambdaLR` function it is saved with the scheduler's
    state, so a resumed run continues the schedule it started with.
    """

    name: str
    total_steps: int
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    power: float = 0.9

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / (self.warmup_steps + 1)
        if self.name == "none":
            return 1.0
        decay_steps = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / decay_steps)
        if self.name == "cosine":
            decay = (1 + math.cos(math.pi * progress)) / 2
        else:
            decay = (1 - progress) ** self.power
        return self.min_lr_ratio + (1 - self.min_lr_ratio) * decay


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    total_steps: float,
    steps_per_epoch: int,
    name: str = "none",
    warmup_epochs: float = 0.0,
    min_lr_ratio: float = 0.0,
    power: float = 0.9,
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step schedule of :class:`LRSchedule` on ``optimizer``.

    Args:
        optimizer: the optimiser, at its base learning rate.
        total_steps: optimisation steps of the whole training run (``inf`` when unbounded:
            only a warm-up then).
        steps_per_epoch: optimisation steps per epoch (converts ``warmup_epochs``).
        name: ``none`` (constant after any warm-up), ``cosine`` or ``poly``.
        warmup_epochs: length of the linear warm-up in epochs, may be fractional (rounded to
            whole steps, at least one); 0 = none.
        min_lr_ratio: the final learning rate as a fraction of the base one.
        power: exponent of ``poly``.
    """
    if name not in SCHEDULER_NAMES:  # the config schema refuses it first, naming the key
        raise ValueError(f"unknown scheduler {name!r}; valid: {', '.join(SCHEDULER_NAMES)}")
    if name != "none" and not math.isfinite(total_steps):
        raise ConfigError(
            f"scheduler.name={name}: needs a known training length (trainer.max_epochs or "
            "trainer.max_steps)"
        )
    # A positive warm-up lasts at least one step.
    warmup_steps = max(1, round(warmup_epochs * steps_per_epoch)) if warmup_epochs > 0 else 0
    schedule = LRSchedule(
        name=name,
        total_steps=int(total_steps) if math.isfinite(total_steps) else 0,
        warmup_steps=warmup_steps,
        min_lr_ratio=min_lr_ratio,
        power=power,
    )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
