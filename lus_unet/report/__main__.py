"""``python -m lus_unet.report <sweep or outputs folder> [--out DIR] [--rows N]``.

Aggregates every run's ``metrics.json`` into the paper's Table 1 layout (Markdown and CSV)
and draws the Figure 5-style comparison PNG. Runs that failed are listed, not fatal.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lus_unet.errors import DataError
from lus_unet.report.collect import collect_runs
from lus_unet.report.figure import draw_comparison
from lus_unet.report.table import precision_note, table_csv, table_markdown, table_rows
from lus_unet.utils import exit_on_user_error, write_text_atomic

log = logging.getLogger("lus_unet.report")


def build_report(root: Path, out_dir: Path, n_rows: int = 5, figure: bool = True) -> Path:
    """Write ``table1.md``, ``table1.csv`` and ``comparison.png`` into ``out_dir``."""
    if not root.is_dir():
        raise DataError(root, "no such folder")
    runs = collect_runs(root)
    if not runs:
        raise DataError(root, "no runs found (no config.yaml or .hydra folder below it)")
    rows = table_rows(runs)
    failed = [run for run in runs if not run.finished]
    markdown = table_markdown(rows, failed) + "\n" + precision_note(runs)
    write_text_atomic(out_dir / "table1.md", markdown)
    write_text_atomic(out_dir / "table1.csv", table_csv(rows))
    if figure:
        draw_comparison(runs, out_dir / "comparison.png", n_rows)
    log.info("Report of %d runs (%d failed) in %s\n%s", len(runs), len(failed), out_dir, markdown)
    return out_dir


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m lus_unet.report", description=__doc__)
    parser.add_argument("root", type=Path, help="a sweep folder or outputs/")
    parser.add_argument("--out", type=Path, help="report folder (default: <root>/report)")
    parser.add_argument("--rows", type=int, default=5, help="frames in the comparison figure")
    parser.add_argument("--no-figure", action="store_true", help="tables only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    with exit_on_user_error():
        build_report(args.root, args.out or args.root / "report", args.rows, not args.no_figure)


if __name__ == "__main__":
    main()
