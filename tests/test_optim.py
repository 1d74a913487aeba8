"""Optimiser, learning-rate schedule, gradient clipping and their config checks.

Training goes through :func:`lus_unet.train.train`; the ``trainers`` fixture records the
Lightning trainer it builds (and can add callbacks to it), so that the optimiser, the schedule
and the learning rate of every step are read from the real run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import lightning as L
import pytest
import torch
import yaml
from conftest import tiny_overrides
from lightning.pytorch.callbacks import Callback, LearningRateMonitor
from torch import nn

from lus_unet.errors import ConfigError
from lus_unet.train import train
from lus_unet.training.module import SegmentationModule
from lus_unet.training.optim import LRSchedule, build_scheduler
from lus_unet.training.trainer import HPARAM_AXES

# 16 training samples in batches of 4: 4 steps per epoch, 12 in 3 epochs.
THREE_EPOCHS = [*tiny_overrides("xunet"), "trainer.max_epochs=3", "trainer.log_every_n_steps=1"]
STEPS_PER_EPOCH, TOTAL_STEPS = 4, 12


class LRRecorder(Callback):
    """The learning rate each optimisation step uses, and the one left after training."""

    def __init__(self) -> None:
        self.lrs: list[float] = []
        self.final: float | None = None

    def on_train_batch_start(self, trainer: L.Trainer, *args: object) -> None:
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])

    def on_train_end(self, trainer: L.Trainer, *args: object) -> None:
        self.final = trainer.optimizers[0].param_groups[0]["lr"]


class Crash(Callback):
    """Stops training with an error as the given epoch starts (its checkpoints are written)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: L.Trainer, *args: object) -> None:
        if trainer.current_epoch == self.epoch:
            raise RuntimeError("simulated crash")


class Trainers(list):
    """The trainers ``train`` built, in order; ``extra`` callbacks go into the next one."""

    extra: list[Callback]


@pytest.fixture
def trainers(monkeypatch: pytest.MonkeyPatch) -> Trainers:
    made = Trainers()
    made.extra = []
    real = L.Trainer

    class Recorded(real):
        def __init__(self, *args, callbacks=(), **kwargs) -> None:
            super().__init__(*args, callbacks=[*callbacks, *made.extra], **kwargs)
            made.extra = []
            made.append(self)

    monkeypatch.setattr(L, "Trainer", Recorded)
    return made


def trainable_ids(trainer: L.Trainer) -> tuple[set[int], set[int]]:
    """Ids of the parameters in the optimiser, and of the network's trainable parameters."""
    in_optimizer = {id(p) for group in trainer.optimizers[0].param_groups for p in group["params"]}
    net = trainer.lightning_module.net
    return in_optimizer, {id(p) for p in net.parameters() if p.requires_grad}


def check_default(trainer: L.Trainer) -> None:
    optimizer = trainer.optimizers[0]
    assert type(optimizer) is torch.optim.Adam  # the paper's
    assert optimizer.param_groups[0]["weight_decay"] == 0.0
    assert trainer.lr_scheduler_configs == []
    assert not any(isinstance(c, LearningRateMonitor) for c in trainer.callbacks)
    assert trainer.gradient_clip_val is None


def check_adamw(trainer: L.Trainer) -> None:
    optimizer = trainer.optimizers[0]
    assert type(optimizer) is torch.optim.AdamW
    assert optimizer.param_groups[0]["weight_decay"] == 0.05


def check_sgd(trainer: L.Trainer) -> None:
    group = trainer.optimizers[0].param_groups[0]
    assert type(trainer.optimizers[0]) is torch.optim.SGD
    assert group["nesterov"] and group["momentum"] == 0.8 and group["dampening"] == 0


def check_scheduled(trainer: L.Trainer) -> None:
    (config,) = trainer.lr_scheduler_configs
    assert config.interval == "step" and config.frequency == 1 and config.name == "train/lr"
    assert any(isinstance(c, LearningRateMonitor) for c in trainer.callbacks)


def check_frozen(trainer: L.Trainer) -> None:
    in_optimizer, trainable = trainable_ids(trainer)
    assert in_optimizer == trainable
    assert len(trainable) < len(list(trainer.lightning_module.net.parameters()))


def check_clipped(trainer: L.Trainer) -> None:
    assert trainer.gradient_clip_val == 0.5 and trainer.gradient_clip_algorithm == "norm"


OPTIONS: dict[str, tuple[list[str], Callable[[L.Trainer], None] | None]] = {
    "default": ([], check_default),
    "adamw": (["optimizer.name=adamw", "optimizer.weight_decay=0.05"], check_adamw),
    "sgd": (["optimizer.name=sgd", "optimizer.momentum=0.8"], check_sgd),
    "cosine": (["scheduler.name=cosine", "scheduler.warmup_epochs=0.5"], check_scheduled),
    "poly": (["scheduler.name=poly", "scheduler.min_lr_ratio=0.1"], check_scheduled),
    "warmup only": (["scheduler.warmup_epochs=1"], check_scheduled),
    "dice_ce": (["loss=dice_ce"], None),
    "hflip": (["data.augment=hflip"], None),
    "gradient clipping": (["trainer.gradient_clip_val=0.5"], check_clipped),
    "frozen encoder": (["finetune=encoder_frozen", "optimizer.name=adamw"], check_frozen),
}


@pytest.mark.parametrize("option", OPTIONS)
def test_every_option_trains_a_fast_dev_run_step(compose_train, trainers, option):
    overrides, check = OPTIONS[option]
    metrics = train(compose_train(*tiny_overrides("xunet"), *overrides, "+trainer.fast_dev_run=1"))
    (trainer,) = trainers
    assert trainer.global_step == 1
    assert math.isfinite(metrics["val_loss"]) and 0 <= metrics["val_dice"] <= 1
    assert metrics["epoch_val_dice"] == [metrics["val_dice"]]
    if check is not None:
        check(trainer)


def expected_lr(step: int, name: str, lr: float, warmup: int, ratio: float) -> float:
    """The schedule's formula, written out: warm-up to lr, then decay to lr * ratio."""
    if step < warmup:
        return lr * (step + 1) / (warmup + 1)
    progress = (step - warmup) / (TOTAL_STEPS - warmup)
    cosine = (1 + math.cos(math.pi * progress)) / 2
    decay = cosine if name == "cosine" else (1 - progress) ** 0.9
    return lr * (ratio + (1 - ratio) * decay)


def logged_scalars(log_dir: Path, tag: str) -> dict[int, float]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    values = {}
    for events in log_dir.glob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        if tag in accumulator.Tags()["scalars"]:
            values |= {e.step: e.value for e in accumulator.Scalars(tag)}
    return values


@pytest.mark.parametrize("name", ["cosine", "poly"])
def test_learning_rate_warms_up_then_decays_by_the_formula(compose_train, trainers, tmp_path, name):
    lr, ratio = 0.01, 0.1
    recorder = LRRecorder()
    trainers.extra = [recorder]
    overrides = [f"scheduler.name={name}", "scheduler.warmup_epochs=0.5"]
    overrides += [f"scheduler.min_lr_ratio={ratio}", f"lr={lr}", "optimizer.name=adamw"]
    metrics = train(compose_train(*THREE_EPOCHS, *overrides))
    (trainer,) = trainers
    assert trainer.num_training_batches == STEPS_PER_EPOCH
    warmup = round(0.5 * STEPS_PER_EPOCH)

    lrs = recorder.lrs
    assert len(lrs) == TOTAL_STEPS
    expected = [expected_lr(k, name, lr, warmup, ratio) for k in range(TOTAL_STEPS)]
    assert lrs == pytest.approx(expected, rel=1e-9)
    assert lrs[0] == pytest.approx(lr / 3)  # starts low
    assert max(lrs) == pytest.approx(lr) and lrs.index(max(lrs)) == warmup  # peaks at lr
    decay = lrs[warmup:]
    assert all(a > b for a, b in pairwise(decay))  # then only decays
    assert recorder.final == pytest.approx(lr * ratio)  # and ends at lr * min_lr_ratio

    run = tmp_path / "run"
    # LearningRateMonitor logs the same values to the run's TensorBoard.
    logged = logged_scalars(run / "tensorboard", "train/lr")
    assert [logged[k] for k in range(TOTAL_STEPS)] == pytest.approx(lrs, rel=1e-6)
    # The schedule's position is saved with the last checkpoint, for resuming.
    saved = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert saved["lr_schedulers"][0]["last_epoch"] == TOTAL_STEPS

    # Every validation epoch's Dice and loss; the run reports the epoch of lowest loss (the
    # paper recipe's checkpoint.monitor), whose Dice need not be the highest.
    history = json.loads((run / "metrics.json").read_text())["epoch_val_dice"]
    assert history == metrics["epoch_val_dice"]
    assert metrics["monitor"] == "val/loss" and metrics["monitor_mode"] == "min"
    losses = metrics["epoch_val_loss"]
    assert len(history) == 3 and len(losses) == 3
    assert metrics["best_epoch"] == losses.index(min(losses))
    assert history[metrics["best_epoch"]] == metrics["val_dice"]
    assert losses[metrics["best_epoch"]] == metrics["val_loss"]

    # The options are hparams axes of the run.
    hparams = yaml.safe_load((run / "tensorboard" / "hparams.yaml").read_text())
    assert set(HPARAM_AXES) <= set(hparams)
    assert hparams["optimizer.name"] == "adamw" and hparams["scheduler.name"] == name
    assert hparams["scheduler.warmup_epochs"] == 0.5
    assert hparams["optimizer.weight_decay"] == 0.0
    assert hparams["trainer.gradient_clip_val"] is None
    assert hparams["data.augment"] == "keras" and hparams["recipe.name"] == "paper"


def test_resume_continues_the_schedule_and_the_dice_history(compose_train, trainers, tmp_path):
    schedule = ["scheduler.name=cosine", "scheduler.warmup_epochs=1", "lr=3e-3"]
    straight = LRRecorder()
    trainers.extra = [straight]
    reference = train(compose_train(*THREE_EPOCHS, *schedule, f"paths.output_dir={tmp_path / 'a'}"))

    out = f"paths.output_dir={tmp_path / 'b'}"
    trainers.extra = [Crash(epoch=2)]
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(compose_train(*THREE_EPOCHS, *schedule, out))
    assert not (tmp_path / "b" / "metrics.json").exists()
    resumed = LRRecorder()
    trainers.extra = [resumed]
    metrics = train(compose_train(*THREE_EPOCHS, *schedule, out, "resume=true"))

    # The resumed run trains only the last epoch, at the learning rates of the straight run.
    assert resumed.lrs == pytest.approx(straight.lrs[2 * STEPS_PER_EPOCH :], rel=1e-9)
    assert resumed.final == pytest.approx(straight.final, abs=1e-12)
    # The history holds the epochs before the crash too.
    assert len(metrics["epoch_val_dice"]) == 3
    assert metrics["epoch_val_dice"] == pytest.approx(reference["epoch_val_dice"], abs=1e-6)
    assert metrics["epoch_val_loss"] == pytest.approx(reference["epoch_val_loss"], abs=1e-6)
    # The selected epoch (lowest val/loss, the paper recipe's rule) over the whole history.
    assert metrics["best_epoch"] == reference["best_epoch"]
    assert min(metrics["epoch_val_loss"]) == metrics["val_loss"]
    assert metrics["epoch_val_dice"][metrics["best_epoch"]] == metrics["val_dice"]


def test_schedule_formula_edge_cases():
    # No warm-up: the first step uses the full rate.
    assert LRSchedule("cosine", total_steps=10)(0) == 1.0
    assert LRSchedule("poly", total_steps=10, power=1.0)(5) == pytest.approx(0.5)
    # Warm-up alone: then constant.
    warm = LRSchedule("none", total_steps=10, warmup_steps=3)
    assert [warm(k) for k in range(6)] == pytest.approx([0.25, 0.5, 0.75, 1, 1, 1])
    # Past the end (or a warm-up longer than training), the rate stays at its floor.
    assert LRSchedule("cosine", total_steps=10, min_lr_ratio=0.2)(15) == pytest.approx(0.2)
    longer = LRSchedule("cosine", total_steps=4, warmup_steps=8)
    assert [longer(k) for k in range(4)] == pytest.approx([1 / 9, 2 / 9, 3 / 9, 4 / 9])


def test_warm_up_epochs_become_whole_steps():
    def schedule(total: float, **config: object) -> LRSchedule:
        optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
        return build_scheduler(optimizer, total, steps_per_epoch=4, **config).lr_lambdas[0]

    assert schedule(12, name="cosine", warmup_epochs=0.5).warmup_steps == 2
    assert schedule(12, name="cosine", warmup_epochs=0.1).warmup_steps == 1  # at least one
    assert schedule(12, name="cosine").warmup_steps == 0
    # Unbounded training (max_epochs=-1): a warm-up works, a decay has nothing to end at.
    assert schedule(math.inf, name="none", warmup_epochs=1)(10) == 1.0
    with pytest.raises(ConfigError, match=r"scheduler\.name=poly: needs a known training length"):
        schedule(math.inf, name="poly")


def tiny_net() -> nn.Sequential:
    net = nn.Sequential(nn.Conv2d(3, 2, 1), nn.Conv2d(2, 1, 1))
    net[0].requires_grad_(False)
    return net


def test_frozen_parameters_stay_out_of_every_optimizer():
    for name in ("adam", "adamw", "sgd"):
        net = tiny_net()
        optimizer = SegmentationModule(net, optimizer={"name": name}).configure_optimizers()
        (group,) = optimizer.param_groups
        assert [id(p) for p in group["params"]] == [id(p) for p in net[1].parameters()]


def one_step(optimizer_cfg: dict, grad: float, lr: float = 0.1) -> float:
    """The weight after one step from weight 1 with gradient ``grad``."""
    net = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False))
    nn.init.ones_(net[0].weight)
    module = SegmentationModule(net, lr=lr, optimizer=optimizer_cfg)
    optimizer = module.configure_optimizers()
    net[0].weight.grad = torch.full_like(net[0].weight, grad)
    optimizer.step()
    return float(net[0].weight.detach())


def test_sgd_is_nesterov_and_adamw_decays_the_weights():
    # Nesterov's first step moves by lr * (1 + momentum) * grad; plain momentum by lr * grad.
    assert one_step({"name": "sgd", "momentum": 0.9}, grad=1.0) == pytest.approx(1 - 0.1 * 1.9)
    # AdamW with a zero gradient still shrinks the weight by lr * weight_decay (decoupled).
    adamw = {"name": "adamw", "weight_decay": 0.5}
    assert one_step(adamw, grad=0.0) == pytest.approx(1 - 0.1 * 0.5)
    assert one_step({"name": "adam"}, grad=0.0) == 1.0  # no weight decay by default


BAD_VALUES = {
    "optimizer.name=rmsprop": "optimizer.name=rmsprop: unknown value; valid: adam, adamw, sgd",
    "scheduler.name=step": "scheduler.name=step: unknown value; valid: none, cosine, poly",
    "optimizer.weight_decay=-0.1": "optimizer.weight_decay=-0.1: must be >= 0",
    "optimizer.weight_decay=lots": "optimizer.weight_decay=lots: must be a number",
    "scheduler.warmup_epochs=-1": "scheduler.warmup_epochs=-1: must be >= 0",
    "scheduler.min_lr_ratio=1.5": "scheduler.min_lr_ratio=1.5: must be between 0 and 1",
    "scheduler.min_lr_ratio=-0.1": "scheduler.min_lr_ratio=-0.1: must be between 0 and 1",
    "scheduler.power=0": "scheduler.power=0: must be positive",
    "trainer.gradient_clip_val=-1": "trainer.gradient_clip_val=-1: must be >= 0",
    "trainer.gradient_clip_algorithm=max": (
        "trainer.gradient_clip_algorithm=max: unknown value; valid: norm, value"
    ),
}


@pytest.mark.parametrize("override", BAD_VALUES)
def test_bad_values_are_one_line_config_errors(compose_train, tmp_path, override):
    with pytest.raises(ConfigError) as error:
        train(compose_train(*tiny_overrides("xunet"), override))
    assert str(error.value) == BAD_VALUES[override]
    assert not (tmp_path / "run").exists()  # before any work


def test_sgd_needs_a_momentum_between_0_and_1(compose_train):
    with pytest.raises(ConfigError, match=r"^optimizer\.momentum=0: must be between 0 and 1"):
        train(compose_train(*tiny_overrides("xunet"), "optimizer.name=sgd", "optimizer.momentum=0"))


def test_ema_weights_are_validated_and_saved(compose_train, tmp_path):
    """ema_decay > 0: best.ckpt holds the moving average (what validation scored) beside the
    raw weights, and the averaging state resumes with it."""
    out = tmp_path / "ema"
    train(compose_train(*THREE_EPOCHS, "ema_decay=0.5", "lr=1e-2", f"paths.output_dir={out}"))
    checkpoint = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    averaged, raw = checkpoint["state_dict"], checkpoint["current_model_state"]
    assert averaged.keys() == raw.keys()
    assert any(not torch.equal(averaged[k], raw[k]) for k in averaged)
    assert int(checkpoint["averaging_state"]["n_averaged"]) == TOTAL_STEPS

    plain = tmp_path / "plain"
    train(compose_train(*THREE_EPOCHS, "lr=1e-2", f"paths.output_dir={plain}"))
    no_ema = torch.load(plain / "checkpoints" / "last.ckpt", weights_only=True)
    assert "averaging_state" not in no_ema
    # The raw weights follow the same trajectory with or without the average.
    assert all(torch.allclose(no_ema["state_dict"][k], raw[k]) for k in raw)
