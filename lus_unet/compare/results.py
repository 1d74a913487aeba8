"""A comparison's results: per-entry fold scores, the split check, ``results.json`` and ``.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lus_unet.cv import summarize_folds
from lus_unet.errors import ConfigError
from lus_unet.run_folder import RunFolder


def entry_summary(overrides: list[str], fold_metrics: list[dict[str, Any]]) -> dict[str, Any]:
    """One entry's figures: best-epoch val Dice per fold, mean, sd (n - 1), time, parameters.

    Args:
        overrides: the entry's config overlay.
        fold_metrics: each fold's ``metrics.json``.
    """
    summary = summarize_folds(fold_metrics)
    return {
        "overrides": overrides,
        "folds": {str(fold): dice for fold, dice in summary["folds"].items()},
        "mean": summary["mean"],
        "std": summary["std"],
        "seconds": round(sum(float(m["train_seconds"]) for m in fold_metrics), 1),
        "params": int(fold_metrics[0]["params_total"]),
        "best_epochs": {str(m["fold"]): m["best_epoch"] for m in fold_metrics},
        "history": {str(m["fold"]): m["epoch_val_dice"] for m in fold_metrics},
    }


def check_same_splits(run_dir: Path, entries: list[str], folds: list[int]) -> None:
    """Refuse a comparison whose entries did not train and validate on the same samples.

    Args:
        run_dir: the comparison's folder (``<entry>/fold_<k>/split.json`` inside).
        entries: the entry names; the first is the yardstick.
        folds: the folds trained.
    """
    for fold in folds:
        first, *others = entries
        expected = _split(RunFolder(run_dir / first).fold(fold))
        for name in others:
            if _split(RunFolder(run_dir / name).fold(fold)) != expected:
                raise ConfigError(
                    f"compare: entry '{name}' trained or validated on other samples than "
                    f"'{first}' in fold {fold}; an entry's overrides must not change the data "
                    "or the split (set those in `common`)"
                )


def _split(fold: RunFolder) -> tuple[list[str], list[str]]:
    split = fold.read_split()
    return split["train"], split["val"]


def results_markdown(results: dict[str, Any]) -> str:
    """The results as a Markdown table, the reference first, with each entry's gain over it."""
    reference = results["entries"][results["reference"]]
    folds = list(reference["folds"])
    header = ["entry", "mean Dice", "sd", "vs reference", *(f"fold {k}" for k in folds)]
    lines = ["| " + " | ".join([*header, "params", "seconds"]) + " |"]
    lines.append("|" + "---|" * (len(header) + 2))
    for name, entry in results["entries"].items():
        gain = "-" if name == results["reference"] else f"{entry['mean'] - reference['mean']:+.4f}"
        per_fold = [f"{entry['folds'][k]:.4f}" for k in folds]
        cells = [name, f"{entry['mean']:.4f}", f"{entry['std']:.4f}", gain, *per_fold]
        lines.append(
            "| " + " | ".join([*cells, f"{entry['params']:,}", f"{entry['seconds']:.0f}"]) + " |"
        )
    budget = results["budget"]
    lines += [
        "",
        f"Budget: {budget['epochs']} epochs, batch {budget['batch_size']}, "
        f"{budget['image_size'][0]}x{budget['image_size'][1]} frames; seed {results['seed']}; "
        "score: best-epoch validation Dice per fold (eq. 2 per image, threshold 0.5).",
        "",
        "| entry | overrides |",
        "|---|---|",
        *(f"| {n} | `{' '.join(e['overrides'])}` |" for n, e in results["entries"].items()),
        "",
        f"Shared overrides: `{' '.join(results['common'])}`",
    ]
    return "\n".join(lines) + "\n"
