"""Cross-validation summary: per-fold Dice, the highest with its fold, mean and spread."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from lus_unet.utils import write_json_atomic, write_text_atomic


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


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as a Markdown table (folds are 0-based; the paper counts from 1)."""
    lines = ["| fold (0-based) | val Dice |", "|---|---|"]
    lines += [f"| {fold} | {dice:.4f} |" for fold, dice in summary["folds"].items()]
    lines += [
        "",
        "| highest Dice (fold) | mean Dice | sd | folds |",
        "|---|---|---|---|",
        f"| {summary['highest']:.4f} ({summary['highest_fold']}) | {summary['mean']:.4f} "
        f"| {summary['std']:.4f} | {summary['n_folds_run']} |",
    ]
    return "\n".join(lines) + "\n"


def write_cv_summary(run_dir: Path, fold_metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """Write ``cv_summary.json`` and ``cv_summary.md`` into ``run_dir`` and return the summary."""
    summary = summarize_folds(fold_metrics)
    write_json_atomic(run_dir / "cv_summary.json", summary)
    write_text_atomic(run_dir / "cv_summary.md", summary_markdown(summary))
    return summary
