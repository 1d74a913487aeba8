"""Evaluation reports: the per-case CSV, and a summary as JSON and Markdown."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lus_unet.metrics.summary import summarize
from lus_unet.utils import write_json_atomic, write_text_atomic

CASES_CSV = "cases.csv"
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
# Columns of a case row that are not metrics.
CASE_FIELDS: tuple[str, ...] = ("id", "model", "source", "flipped")
# Settings listed at the top of the Markdown summary, when present.
_SETTINGS: tuple[str, ...] = (
    "checkpoints",
    "data",
    "cases_from",
    "resolution",
    "spacing_mm",
    "threshold",
    "tta",
    "largest_component",
)
# Shown for every worst case in the Markdown summary, when present.
_WORST_COLUMNS: tuple[str, ...] = ("dice", "hd95_px", "spurious_components")


def metric_names(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The metric columns of case rows, in first-seen order.

    Args:
        rows: case rows (``CASE_FIELDS`` plus metrics).
    """
    names = dict.fromkeys(k for row in rows for k in row if k not in CASE_FIELDS)
    return list(names)


def summarize_cases(
    rows: Sequence[Mapping[str, Any]], n_worst: int = 10, **info: Any
) -> dict[str, Any]:
    """Summary of case rows: per metric statistics, per model if several, the lowest-Dice cases.

    Args:
        rows: case rows, one per evaluated frame.
        n_worst: how many lowest-Dice cases to list.
        info: what was evaluated and how (checkpoints, data, settings), stored as is.
    """
    if not rows:
        raise ValueError("nothing was evaluated")
    names = metric_names(rows)

    def stats(subset: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
        return summarize([{k: row[k] for k in names if k in row} for row in subset])

    models = list(dict.fromkeys(row["model"] for row in rows))
    summary: dict[str, Any] = {**info, "n_cases": len(rows), "metrics": stats(rows)}
    if len(models) > 1:
        summary["per_model"] = {
            model: {
                "n_cases": len(subset := [r for r in rows if r["model"] == model]),
                "metrics": stats(subset),
            }
            for model in models
        }
    worst = sorted(rows, key=lambda row: row["dice"])[:n_worst]
    summary["worst_cases"] = [
        {"id": row["id"], "model": row["model"], **{k: row[k] for k in names}} for row in worst
    ]
    return summary


def cases_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The case rows as CSV text: ``CASE_FIELDS`` then every metric, full precision.

    Args:
        rows: case rows.
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*CASE_FIELDS, *metric_names(rows)])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def summary_markdown(summary: Mapping[str, Any]) -> str:
    """The summary as Markdown: settings, a metric table, per-model Dice and the worst cases.

    Args:
        summary: from :func:`summarize_cases`.
    """
    lines = ["# Evaluation", ""]
    for key in _SETTINGS:
        if key in summary:
            lines.append(f"- {key}: {_inline(summary[key])}")
    lines += [f"- cases: {summary['n_cases']}", ""]
    lines += ["| metric | mean | sd | median | min | max |", "|---|---|---|---|---|---|"]
    for name, s in summary["metrics"].items():
        values = " | ".join(f"{s[k]:.4f}" for k in ("mean", "sd", "median", "min", "max"))
        lines.append(f"| {name} | {values} |")
    if "per_model" in summary:
        lines += ["", "## Per model", "", "| model | cases | Dice mean | Dice sd |"]
        lines.append("|---|---|---|---|")
        for model, part in summary["per_model"].items():
            dice = part["metrics"]["dice"]
            lines.append(f"| {model} | {part['n_cases']} | {dice['mean']:.4f} | {dice['sd']:.4f} |")
    shown = [c for c in _WORST_COLUMNS if c in summary["metrics"]]
    lines += ["", "## Worst cases (lowest Dice)", ""]
    lines += [f"| id | model | {' | '.join(shown)} |", "|---|---|" + "---|" * len(shown)]
    for case in summary["worst_cases"]:
        values = " | ".join(f"{case[k]:.4f}" for k in shown)
        lines.append(f"| {case['id']} | {case['model']} | {values} |")
    return "\n".join(lines) + "\n"


def _inline(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def write_report(
    out_dir: Path, rows: Sequence[Mapping[str, Any]], n_worst: int = 10, **info: Any
) -> dict[str, Any]:
    """Write ``cases.csv``, ``summary.json`` and ``summary.md`` into ``out_dir``.

    Args:
        out_dir: the evaluation folder.
        rows: case rows, one per evaluated frame.
        n_worst: how many lowest-Dice cases the summary lists.
        info: what was evaluated and how, recorded in the summary.
    """
    summary = summarize_cases(rows, n_worst, **info)
    write_text_atomic(out_dir / CASES_CSV, cases_csv(rows))
    write_json_atomic(out_dir / SUMMARY_JSON, summary)
    write_text_atomic(out_dir / SUMMARY_MD, summary_markdown(summary))
    return summary
