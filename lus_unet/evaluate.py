"""Evaluate checkpoints: ``python -m lus_unet.evaluate checkpoint=<ckpt|run|CV run> [data.root=]``.

Without ``data.root`` every checkpoint is evaluated on its own run's validation split
(``split.json``): a cross-validation run folder thus gives the honest CV evaluation, each fold
model on its own validation fold. With ``data.root`` the checkpoints form one ensemble,
evaluated on every frame of that folder. Writes ``cases.csv`` (every metric per frame),
``summary.json`` and ``summary.md`` into a new folder.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from lus_unet.config.inference import EvaluateConfig
from lus_unet.config.validate import validate
from lus_unet.errors import ConfigError
from lus_unet.evaluation.cases import Case, folder_cases, split_cases
from lus_unet.evaluation.checkpoints import (
    LoadedCheckpoint,
    load_checkpoint,
    load_checkpoints,
    resolve_checkpoints,
    resolve_device,
)
from lus_unet.evaluation.inference import (
    Ensemble,
    InferenceSettings,
    batched,
    resize_probabilities,
)
from lus_unet.evaluation.report import write_report
from lus_unet.metrics.case import case_metrics
from lus_unet.metrics.masks import as_spacing
from lus_unet.progress import progress
from lus_unet.run_folder import run_dir_of
from lus_unet.utils import command, write_text_atomic

log = logging.getLogger(__name__)

EVALUATION_DIR = "evaluation"


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Evaluate as configured (``conf/evaluate.yaml``); returns the summary written.

    Args:
        cfg: the evaluate configuration.
    """
    validate(cfg, EvaluateConfig)
    if cfg.output_dir and Path(cfg.output_dir).expanduser().exists():
        raise ConfigError(f"output_dir {cfg.output_dir} already exists; refusing to overwrite it")
    spacing = as_spacing(cfg.spacing_mm)
    settings = InferenceSettings.from_config(cfg)
    specs = [cfg.checkpoint] if isinstance(cfg.checkpoint, str) else list(cfg.checkpoint)
    paths = resolve_checkpoints(specs, cfg.allow_partial)
    device = resolve_device(settings.device)
    scorer = _Scorer(settings, cfg.resolution, spacing)
    labels = _labels(paths)
    rows: list[dict[str, Any]] = []
    roots: list[str] = []
    if cfg.data.root is None:
        cases_from = "each checkpoint's own validation split (split.json)"
        for path in paths:
            model = load_checkpoint(path, device, cfg.max_parameters)
            root, cases = split_cases(model.run_dir, model.spec)
            roots.append(str(root))
            rows += scorer.score([model], cases, labels[path])
        _check_disjoint(rows)
    else:
        cases_from = "every frame of the data folder"
        root = Path(cfg.data.root).expanduser()
        roots.append(str(root))
        models = load_checkpoints(paths, device, cfg.max_parameters)
        label = labels[paths[0]] if len(paths) == 1 else f"ensemble_of_{len(paths)}"
        # The run's reader and preprocessing; the folder's own reader keys, where given.
        spec = models[0].spec
        read = spec.read.overridden(OmegaConf.to_container(cfg.data, resolve=True))
        rows += scorer.score(models, folder_cases(root, read, spec.preprocess), label)
    out_dir = _make_output_dir(cfg.output_dir, Path(str(specs[0])).expanduser())
    summary = write_report(
        out_dir,
        rows,
        n_worst=cfg.n_worst,
        checkpoints=[str(p) for p in paths],
        data=list(dict.fromkeys(roots)),
        cases_from=cases_from,
        resolution=cfg.resolution,
        spacing_mm=list(spacing) if spacing else None,
        threshold=settings.threshold,
        tta=settings.tta,
        largest_component=settings.largest_component,
    )
    write_text_atomic(out_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True))
    dice = summary["metrics"]["dice"]
    log.info(
        "Evaluated %d cases: Dice %.4f +- %.4f (median %.4f) -> %s",
        summary["n_cases"],
        dice["mean"],
        dice["sd"],
        dice["median"],
        out_dir,
    )
    return {**summary, "output_dir": str(out_dir)}


class _Scorer:
    """Predict cases in batches and measure each prediction against its mask."""

    def __init__(
        self, settings: InferenceSettings, resolution: str, spacing: tuple[float, float] | None
    ) -> None:
        self.settings = settings
        self.resolution = resolution
        self.spacing = spacing

    def score(
        self, models: Sequence[LoadedCheckpoint], cases: Iterable[Case], label: str
    ) -> list[dict[str, Any]]:
        """One row per case: id, model label, source, flipped and every metric."""
        ensemble = Ensemble([m.net for m in models], self.settings.tta)
        batch_size = self.settings.batch_size_for(models)
        rows = []
        bar = progress(cases, f"Evaluating {label}", "frame", leave=False)
        for batch in batched(bar, batch_size):
            probs = ensemble(np.stack([case.image for case in batch]))
            for case, prob in zip(batch, probs, strict=True):
                pred, target, spacing = self._at_resolution(case, prob)
                metrics = case_metrics(pred, target, spacing)
                row = {"id": case.id, "model": label, "source": str(case.source)}
                rows.append({**row, "flipped": case.flipped, **metrics})
        return rows

    def _at_resolution(
        self, case: Case, prob: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, tuple[float, float] | None]:
        """Prediction, ground truth and pixel spacing at the configured resolution."""
        original = case.original_mask
        if self.resolution == "network":
            # As training validates: against the mask at the network's size.
            target = case.mask
            pred = self.settings.mask(prob)
            spacing = self.spacing and (
                self.spacing[0] * original.shape[0] / target.shape[0],
                self.spacing[1] * original.shape[1] / target.shape[1],
            )
        else:
            target = original
            pred = self.settings.mask(resize_probabilities(prob, original.shape))
            spacing = self.spacing
        return pred, target, spacing


def _labels(paths: Sequence[Path]) -> dict[Path, str]:
    """A short label per checkpoint: its run folder's name (``fold_<k>``), plus the file's stem
    unless it is ``best``; the full paths when short labels would collide."""
    labels = {}
    for path in paths:
        name = run_dir_of(path).name
        labels[path] = name if path.stem == "best" else f"{name}/{path.stem}"
    if len(set(labels.values())) < len(labels):
        return {path: str(path) for path in paths}
    return labels


def _check_disjoint(rows: Sequence[dict[str, Any]]) -> None:
    seen: dict[str, str] = {}
    for row in rows:
        if row["id"] in seen and seen[row["id"]] != row["model"]:
            raise ConfigError(
                f"case {row['id']} is in the validation split of both {seen[row['id']]} and "
                f"{row['model']}: pass data.root=<folder> to evaluate them as an ensemble"
            )
        seen[row["id"]] = row["model"]


def _make_output_dir(configured: str | None, anchor: Path) -> Path:
    """Create a new output folder: the configured one, else ``<run>/evaluation/<time>``."""
    if configured:
        out = Path(configured).expanduser()
        try:
            out.mkdir(parents=True)
        except FileExistsError:
            message = f"output_dir {out} already exists; refusing to overwrite it"
            raise ConfigError(message) from None
        return out
    base = (anchor if anchor.is_dir() else run_dir_of(anchor)) / EVALUATION_DIR
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    for attempt in range(1, 100):
        out = base / (stamp if attempt == 1 else f"{stamp}_{attempt}")
        try:
            out.mkdir(parents=True)
            return out
        except FileExistsError:
            continue  # two evaluations in the same second: number the later one
    raise ConfigError(f"cannot create a new output folder under {base}")


main = command(evaluate, "evaluate")

if __name__ == "__main__":
    main()
