"""``python -m lus_unet.bench``: run the benchmark suite, write results.json and summary.md."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lus_unet.bench.report import headline_table, write_outputs
from lus_unet.bench.suite import FULL, QUICK, SECTIONS, run_suite


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m lus_unet.bench", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("outputs/bench"), help="output folder")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, 1-2 repeats: a smoke test (seconds)"
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default: all of {','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--no-compile-gpu", action="store_true", help="skip the torch.compile'd GPU variants"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    # Lightning announces devices and tips at INFO on every Trainer the suite builds.
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    sections = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {unknown}; valid: {', '.join(SECTIONS)}")
    results = run_suite(
        QUICK if args.quick else FULL,
        sections,
        compile_gpu=not args.no_compile_gpu,
        on_section=lambda partial: write_outputs(partial, args.out),
    )
    json_path, md_path = write_outputs(results, args.out)
    print(headline_table(results))
    print(f"\nWrote {json_path} and {md_path}")


if __name__ == "__main__":
    main()
