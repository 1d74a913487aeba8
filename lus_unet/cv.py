"""Cross-validation summary: per-fold Dice, the highest with its fold, mean and spread."""

from __future__ import annotations

import logging
import statistics
from typing import Any

from lus_unet.run_folder import RunFolder

log = logging.getLogger(__name__)


def summarize_folds(fold_metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Summarise per-fold ``metrics.json`` dicts the way the paper's Table 1 does.

    The standard deviation is the sample standard deviation (n - 1), 0 for one fold.
    """
    dice = {int(m["fold"]): float(m["val_dice"]) for m in fold_metrics}
    best_fold = max(dice, key=dice.__getitem__)
    values = list(dice.values())
    return {
        "metric": "val_dice",
        "folds": dice,
        "n_folds_run": len(values),
        "highest": dice[best_fold],
        "highest_fold": best_fold,
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "mean_iou": statistics.fmean(float(m["val_iou"]) for m in fold_metrics),
    }


def summarize_stages(fold_metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Per stage of a multi-stage run, its summary over the folds ({}: one-stage runs).

    A shared stage (trained once for every fold) is reported once, with ``shared: true``.
    """
    if not fold_metrics or "stages" not in fold_metrics[0]:
        return {}
    stages = {}
    for name, first in fold_metrics[0]["stages"].items():
        if first.get("fold") is None:
            stages[name] = {"shared": True, "val_dice": float(first["val_dice"])}
        else:
            stages[name] = summarize_folds([m["stages"][name] for m in fold_metrics])
    return stages


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table (folds are 0-based; the paper counts from 1)."""
    lines = []
    if summary.get("stages"):
        lines += ["| stage | mean val Dice | sd | folds |", "|---|---|---|---|"]
        for name, stage in summary["stages"].items():
            if stage.get("shared"):
                lines.append(f"| {name} (shared, holdout) | {stage['val_dice']:.4f} | - | - |")
            else:
                lines.append(
                    f"| {name} | {stage['mean']:.4f} | {stage['std']:.4f} | "
                    f"{stage['n_folds_run']} |"
                )
        lines += ["", "Model (last stage):", ""]
    lines += ["| fold (0-based) | val Dice |", "|---|---|"]
    lines += [f"| {fold} | {dice:.4f} |" for fold, dice in summary["folds"].items()]
    lines += [
        "",
        "| highest Dice (fold) | mean Dice | sd | folds |",
        "|---|---|---|---|",
        f"| {summary['highest']:.4f} ({summary['highest_fold']}) | {summary['mean']:.4f} "
        f"| {summary['std']:.4f} | {summary['n_folds_run']} |",
    ]
    return "\n".join(lines) + "\n"


def write_cv_summary(folder: RunFolder, fold_metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Summarise the folds, write the summary (JSON and Markdown) into ``folder``, log it.

    Args:
        folder: the cross-validation folder holding the ``fold_<k>`` runs.
        fold_metrics: each fold's ``metrics.json``.
    """
    summary = summarize_folds(fold_metrics)
    if stages := summarize_stages(fold_metrics):
        summary["stages"] = stages
    folder.write_cv_summary(summary, summary_markdown(summary))
    log.info(
        "Cross-validation: highest Dice %.4f (fold %d), mean %.4f +- %.4f",
        summary["highest"],
        summary["highest_fold"],
        summary["mean"],
        summary["std"],
    )
    return summary
