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
    # A multi-stage entry: every per-fold stage counts; a shared stage (trained once for all
    # folds, e.g. salient-object pre-training) is reported on its own.
    stages = [m.get("stages") or {"": m} for m in fold_metrics]
    shared = {name: run for name, run in stages[0].items() if run.get("fold") is None}
    per_fold = [run for fold in stages for name, run in fold.items() if name not in shared]
    return {
        "overrides": overrides,
        "folds": {str(fold): dice for fold, dice in summary["folds"].items()},
        "mean": summary["mean"],
        "std": summary["std"],
        "seconds": round(sum(float(m["train_seconds"]) for m in per_fold), 1),
        "shared_stages": {
            name: {"val_dice": run["val_dice"], "seconds": run["train_seconds"]}
            for name, run in shared.items()
        },
        "params": int(fold_metrics[0]["params_total"]),
        "best_epochs": {str(m["fold"]): m["best_epoch"] for m in fold_metrics},
        # Validation frames its starting checkpoint trained on (the paper's single-split TL).
        "init_val_overlap": {str(m["fold"]): m.get("init_val_overlap", 0) for m in fold_metrics},
        "n_val": {str(m["fold"]): m["n_val"] for m in fold_metrics},
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
        expected = _split(RunFolder(run_dir / first).fold(fold).final)
        for name in others:
            if _split(RunFolder(run_dir / name).fold(fold).final) != expected:
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
    for name, entry in results["entries"].items():
        leaked = {k: n for k, n in entry.get("init_val_overlap", {}).items() if n}
        if leaked:
            counts = ", ".join(f"fold {k}: {n} of {entry['n_val'][k]}" for k, n in leaked.items())
            lines += ["", f"`{name}` started from weights trained on validation frames ({counts})."]
        for stage, run in entry.get("shared_stages", {}).items():
            lines += [
                "",
                f"`{name}` starts every fold from its shared `{stage}` stage (trained once, "
                f"not counted above): val Dice {run['val_dice']:.4f}, {run['seconds']:.0f} s.",
            ]
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
