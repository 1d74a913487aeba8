"""The paper's Table 1 layout: per configuration, highest Dice with its fold, mean, sd, n."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import dataclass

from lus_unet.report.collect import Run

# Table 1's column order; configurations outside it follow, sorted.
PAPER_ORDER = [
    ("vunet_tl", "lus400"),
    ("vunet_ft", "lus400"),
    ("vunet_tl", "lus200"),
    ("vunet_ft", "lus200"),
    ("xunet_pretrain", "salient"),
    ("xunet_ft_all", "lus400"),
    ("xunet_ft_bbfrozen", "lus400"),
    ("xunet_ft_all", "lus600"),
]
# Defect metrics (issue: Dice alone misleads) shown as means beside Dice when runs log them.
EXTRA_METRICS = [
    ("val_iou", "IoU"),
    ("val_hd95_px", "HD95 px"),
    ("val_assd_px", "ASSD px"),
    ("val_spurious_components", "spurious comp."),
    ("val_contour_length_ratio", "contour ratio"),
]


@dataclass(frozen=True)
class Row:
    """One configuration's summary over its finished folds."""

    stage: str
    model: str
    finetune: str
    data_size: str
    dice: dict[str, float]  # fold label -> val Dice
    extras: dict[str, float]  # metric key -> mean over folds

    @property
    def highest_fold(self) -> str:
        return max(self.dice, key=self.dice.__getitem__)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.dice.values())

    @property
    def sd(self) -> float:
        return statistics.stdev(self.dice.values()) if len(self.dice) > 1 else 0.0


def _fold_label(run: Run) -> str:
    fold = run.metrics.get("fold") if run.metrics else None
    return "holdout" if fold is None else str(fold)


def _rank(row: Row) -> tuple[int, str]:
    key = (row.stage, row.data_size)
    return (PAPER_ORDER.index(key), "") if key in PAPER_ORDER else (len(PAPER_ORDER), str(key))


def table_rows(runs: list[Run]) -> list[Row]:
    """Group finished runs by configuration, in Table 1's order."""
    groups: dict[tuple[str, str, str, str], list[Run]] = {}
    for run in runs:
        if run.finished:
            groups.setdefault(run.configuration, []).append(run)
    rows = []
    for (stage, model, finetune, size), members in groups.items():
        extras = {
            key: statistics.fmean(m.metrics[key] for m in members)
            for key, _ in EXTRA_METRICS
            if all(key in m.metrics for m in members)
        }
        dice = {_fold_label(m): float(m.metrics["val_dice"]) for m in members}
        rows.append(Row(stage, model, finetune, size, dice, extras))
    return sorted(rows, key=_rank)


def _extra_columns(rows: list[Row]) -> list[tuple[str, str]]:
    return [(key, label) for key, label in EXTRA_METRICS if any(key in r.extras for r in rows)]


def table_markdown(rows: list[Row], failed: list[Run]) -> str:
    """Table 1 as Markdown, then the runs that did not finish."""
    extras = _extra_columns(rows)
    header = ["configuration", "model", "fine-tuning", "data", "folds", "highest Dice (fold)",
              "mean Dice", "sd", *(label for _, label in extras)]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [
            f"{r.stage} {r.data_size}",
            r.model,
            r.finetune,
            r.data_size,
            str(len(r.dice)),
            f"{r.dice[r.highest_fold]:.4f} ({r.highest_fold})",
            f"{r.mean:.4f}",
            f"{r.sd:.4f}",
            *(f"{r.extras[k]:.4f}" if k in r.extras else "n/a" for k, _ in extras),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n\nFolds are numbered from 0 (the paper counts from 1).\n"
    if failed:
        text += f"\n{len(failed)} run(s) did not finish:\n\n"
        text += "".join(f"- `{run.path}` {' '.join(run.overrides)}\n" for run in failed)
    return text


def precision_note(runs: list[Run]) -> str:
    """One line saying which numeric precision trained the finished runs (the paper: fp32)."""
    counts = Counter(
        str(run.config.get("trainer", {}).get("precision", "?")) for run in runs if run.finished
    )
    used = ", ".join(f"{precision} ({n} runs)" for precision, n in sorted(counts.items()))
    return f"Training precision: {used}.\n"


def table_csv(rows: list[Row]) -> str:
    """Table 1 as CSV, one row per configuration."""
    extras = _extra_columns(rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["stage", "model", "finetune", "data_size", "n_folds", "highest_dice",
                     "highest_fold", "mean_dice", "sd_dice", *(k for k, _ in extras)])  # fmt: skip
    for r in rows:
        best = r.highest_fold
        numbers = [
            r.dice[best],
            best,
            r.mean,
            r.sd,
            *(r.extras.get(k, float("nan")) for k, _ in extras),
        ]
        writer.writerow(
            [r.stage, r.model, r.finetune, r.data_size, len(r.dice)]
            + [f"{n:.6f}" if isinstance(n, float) else n for n in numbers]
        )
    return out.getvalue()
