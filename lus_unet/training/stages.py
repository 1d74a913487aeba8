"""A run as a chain of stages (``conf/stages/``): the paper's TL -> FT and pretrain -> FT.

Each stage is an ordinary one-stage run with its own folder, ``<run>/<stage>/`` (or
``<run>/fold_<k>/<stage>/``), initialised from the previous stage's selected checkpoint of the
same fold. A ``shared`` first stage does not depend on the fold (X-UNet's salient-object
pre-training): it is trained once per distinct configuration in a content-addressed folder,
``<paths.cache_dir>/stages/<stage>-<hash>/``, and every fold and later run with the same
pre-training reuses it. ``resume=true`` keeps the finished stages and continues the one that
was interrupted, at its last epoch.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from lus_unet.data.build_lock import building
from lus_unet.errors import ConfigError
from lus_unet.run_fingerprint import content_key
from lus_unet.run_folder import RunFolder, resume_command
from lus_unet.training.build import run_config, run_fingerprint
from lus_unet.utils import CONFIG_DIR

log = logging.getLogger(__name__)

SHARED_DIR = "stages"  # inside paths.cache_dir
# A stage's `finetune` names a conf/finetune option, whose `freeze` list it takes.
FINETUNE_DIR = Path(CONFIG_DIR) / "finetune"
# Table 1's short names of the strategies a stage takes from the run's `finetune`.
FINETUNE_LABELS = {"all": "all", "bottleneck_frozen": "bbfrozen"}
Fit = Callable[[DictConfig, "int | None", RunFolder], dict[str, Any]]


def stage_names(cfg: DictConfig) -> list[str]:
    """The run's stages in training order; [] for a one-stage run (``stages=single``)."""
    stages = cfg.get("stages")
    return [] if stages is None else [str(name) for name in stages.order]


def stage_label(cfg: DictConfig, name: str) -> str:
    """The stage's name in reports (its ``task_name``): ``vunet_tl``, ``xunet_ft_bbfrozen``.

    A stage that takes the run's ``finetune`` is named with it, as Table 1's rows are.
    """
    label = f"{cfg.model.name}_{name}"
    if cfg.stages.steps[name].finetune is None:
        strategy = str(cfg.finetune.name)
        label += f"_{FINETUNE_LABELS.get(strategy, strategy)}"
    return label


def check_finetune_used(cfg: DictConfig) -> None:
    """Refuse a ``finetune`` that no stage uses (each stage of the protocol sets its own)."""
    steps = cfg.stages.steps
    if cfg.finetune.name != "all" and all(steps[n].finetune is not None for n in steps):
        fixed = ", ".join(f"{n} {steps[n].finetune}" for n in cfg.stages.order)
        raise ConfigError(
            f"finetune={cfg.finetune.name}: no stage of stages={cfg.stages.name} uses it (its "
            f"stages set their own: {fixed}); add stages=single to train one stage with it"
        )


def stage_config(
    cfg: DictConfig, name: str, init_from: str | None, output_dir: Path, fold: int | None
) -> DictConfig:
    """The one-stage configuration of stage ``name`` of ``cfg``.

    Args:
        cfg: the run's configuration, with its ``stages``.
        name: the stage.
        init_from: the checkpoint it starts from (the previous stage's; None: the run's
            ``init_from``).
        output_dir: its run folder.
        fold: the fold it trains (None for a shared stage).
    """
    step = cfg.stages.steps[name]
    stage = copy.deepcopy(cfg)
    with open_dict(stage):
        # Resolved where the protocol wrote them (``${data.image_size}`` is the run's frames).
        if step.data is not None:
            stage.data = OmegaConf.create(OmegaConf.to_container(step.data, resolve=True))
        stage.task_name = stage_label(cfg, name)
        # Both are read by the protocol only: a stage's own config is one stage.
        del stage["stages"]
        del stage.recipe["finetune_lr_factor"]
        stage.stage = name
        stage.lr = float(cfg.lr) * float(step.lr_factor)
        if step.finetune is not None:
            stage.finetune = OmegaConf.load(FINETUNE_DIR / f"{step.finetune}.yaml")
        if step.epochs is not None:
            stage.trainer.max_epochs = int(step.epochs)
        if init_from is not None:
            stage.init_from = init_from
            stage.init_created_by = None
            if "encoder_weights" in stage.model:
                stage.model.encoder_weights = None  # every weight comes from the checkpoint
        stage.paths.output_dir = str(output_dir)
        stage.fold = fold
    return stage


def shared_folder(cfg: DictConfig, name: str) -> RunFolder:
    """The content-addressed folder of shared stage ``name``: one per distinct training."""
    probe = stage_config(cfg, name, None, Path("."), None)
    stored = run_config(probe, None)
    key = content_key(stored, run_fingerprint(stored)["data"])
    return RunFolder(Path(cfg.paths.cache_dir) / SHARED_DIR / f"{name}-{key}")


def train_shared(cfg: DictConfig, name: str, fit: Fit) -> RunFolder:
    """Train shared stage ``name`` once (or reuse it) and return its folder.

    Sweep jobs that need it together take turns: one trains it, the others wait and reuse it.
    An interrupted one is continued from its last epoch by whichever run needs it next.
    """
    folder = shared_folder(cfg, name)
    with building(folder.path):
        if folder.finished:
            log.info("Stage %s: reusing %s", name, folder.path)
            return folder
        stage = stage_config(cfg, name, None, folder.path, None)
        with open_dict(stage):
            stage.resume = folder.started
        log.info("Stage %s (shared by every fold): training in %s", name, folder.path)
        fit(stage, None, folder)
    return folder


def run_stages(cfg: DictConfig, fold: int | None, folder: RunFolder, fit: Fit) -> dict[str, Any]:
    """Train every stage of ``cfg`` on ``fold`` in ``folder``; returns the last stage's
    metrics with ``stages`` (each stage's metrics, in order).

    Args:
        cfg: the run's configuration.
        fold: the fold (None: the holdout split).
        folder: the run (or fold) folder that receives one folder per stage.
        fit: trains one stage (:func:`lus_unet.train.fit`).

    Raises:
        ConfigError: ``resume=true`` with nothing to resume, or with a stage whose recorded
            settings or data differ (checked for every stage before any trains).
    """
    order = stage_names(cfg)
    check_finetune_used(cfg)
    plans = plan_stages(cfg, fold, folder)
    if cfg.resume:
        check_resume(plans, folder)
    elif folder.writer:
        refuse_started(plans, folder)
    folder.path.mkdir(parents=True, exist_ok=True)
    folder.write_stages(order)
    results: dict[str, Any] = {}
    for name, (stage, stage_folder) in plans.items():
        if stage is None:  # shared
            results[name] = train_shared(cfg, name, fit).read_metrics()
            continue
        if cfg.resume and stage_folder.finished:
            log.info("Stage %s already finished in %s; keeping it", name, stage_folder.path)
            results[name] = stage_folder.read_metrics()
            continue
        with open_dict(stage):
            stage.resume = bool(cfg.resume) and stage_folder.reached
        log.info("Stage %s: %s", name, stage_folder.path)
        results[name] = fit(stage, fold, stage_folder)
    return {**results[order[-1]], "stages": results}


def plan_stages(
    cfg: DictConfig, fold: int | None, folder: RunFolder
) -> dict[str, tuple[DictConfig | None, RunFolder]]:
    """Each stage's configuration and folder, in order; a shared stage's configuration is None
    (it is trained in the cache, see :func:`train_shared`).

    A stage starts from the previous stage's best checkpoint; the first non-shared stage from
    the shared one's, or from ``init_from`` when one is given, which skips the shared stage.
    """
    plans: dict[str, tuple[DictConfig | None, RunFolder]] = {}
    init: str | None = None
    for name in stage_names(cfg):
        step = cfg.stages.steps[name]
        if step.shared:
            if cfg.init_from:
                log.info("Stage %s skipped: starting from init_from=%s", name, cfg.init_from)
                continue
            shared = shared_folder(cfg, name)
            plans[name] = (None, shared)
            init = str(shared.best_checkpoint)
            continue
        stage_folder = folder.stage(name)
        plans[name] = (stage_config(cfg, name, init, stage_folder.path, fold), stage_folder)
        init = str(stage_folder.best_checkpoint)
    return plans


def refuse_started(
    plans: dict[str, tuple[DictConfig | None, RunFolder]], folder: RunFolder
) -> None:
    """Refuse to start a run in a folder whose stages already hold one (finished or not)."""
    found = [
        f"{name} {'finished' if stage_folder.finished else 'interrupted'}"
        for name, (stage, stage_folder) in plans.items()
        if stage is not None and (stage_folder.started or stage_folder.finished)
    ]
    if found:
        raise ConfigError(
            f"{folder.path} already holds this run's stages ({', '.join(found)}); continue it "
            f"with: {resume_command()} (or choose another folder)"
        )


def check_resume(plans: dict[str, tuple[DictConfig | None, RunFolder]], folder: RunFolder) -> None:
    """Refuse ``resume=true`` when no stage of this fold started, or when a started stage was
    trained with other settings or data; every stage is checked before any trains."""
    own = {name: plan for name, plan in plans.items() if plan[0] is not None}
    if not any(stage_folder.path.exists() for _, stage_folder in own.values()):
        raise ConfigError(
            f"resume=true: nothing to resume in {folder.path} (no stage folder: "
            f"{', '.join(own)}); drop resume=true to start the run"
        )
    if not folder.writer:
        return
    for stage, stage_folder in own.values():
        if stage is not None and stage_folder.path.exists():
            fold = stage.get("fold")
            stage_folder.check_same_run(run_fingerprint(run_config(stage, fold)))
