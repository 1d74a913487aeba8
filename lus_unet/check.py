"""Validate a data folder without training: ``python -m lus_unet.check data.root=<folder>``.

Reads and preprocesses every file exactly as training would (same readers, same settings, no
cache), but collects every problem instead of stopping at the first: each bad file is listed
on one line with its problem, after a summary table of what the folder holds. Exits with
status 1 if there is any problem. ``data=salient`` checks a salient-object set; without
``data.root`` the embedded synthetic set is checked (generated first if needed).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from lus_unet.config.data import CheckConfig
from lus_unet.config.validate import show, validate
from lus_unet.data.discover import scan_pairs
from lus_unet.data.frames import PreprocessedFrame, iter_preprocessed
from lus_unet.data.preprocess import despeckles
from lus_unet.data.quirks import Quirks
from lus_unet.data.spec import DataSpec, spec_from_config
from lus_unet.errors import ConfigError, DataError
from lus_unet.progress import progress
from lus_unet.utils import command

log = logging.getLogger(__name__)

_SHOWN_VALUES = 4


@dataclass
class CheckReport:
    """What a data folder holds and what is wrong with it.

    Attributes:
        root: the folder checked.
        layout: its image and mask folders, e.g. ``images/ + masks/``.
        pairs: image/mask pairs found.
        frames: frames read from the good pairs (a cine stack gives several).
        stacks: cine stacks among the good pairs.
        stack_frames: frames that came from cine stacks.
        counts: per property (file types, sizes, dtypes, kinds, MAT variables), value -> count.
        foreground: the foreground fraction of every good frame's mask.
        split: the train/validation split the settings give, or None if not reached.
        quirks: what reads fine but looks doubtful (warnings, not problems).
        problems: one ``path: problem`` line per problem.
    """

    root: Path
    layout: str = ""
    pairs: int = 0
    frames: int = 0
    stacks: int = 0
    stack_frames: int = 0
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    foreground: list[float] = field(default_factory=list)
    split: str | None = None
    quirks: Quirks = field(default_factory=Quirks)
    problems: list[str] = field(default_factory=list)

    def count(self, what: str, value: str, n: int = 1) -> None:
        """Add ``n`` to the tally of ``value`` under ``what``."""
        self.counts.setdefault(what, Counter())[value] += n


def check_folder(spec: DataSpec) -> CheckReport:
    """Read and preprocess every file of the spec's data folder, collecting every problem.

    Args:
        spec: the data set's settings (its ``data_root`` must exist: call ``prepare()`` first
            for the synthetic default).

    Raises:
        DataError: for a folder that holds nothing to check (missing, no layout, no images).
    """
    root = spec.data_root
    read = spec.read
    scan = scan_pairs(root, read.image_dir, read.mask_dir, suffixes=read.suffixes)
    report = CheckReport(root, layout=f"{scan.image_dir}/ + {scan.mask_dir}/")
    report.problems += [str(problem) for problem in scan.problems]
    report.pairs = len(scan.pairs)
    ids: list[str] = []
    groups: list[str] = []
    for pair in progress(scan.pairs, f"Checking {root.name}", "file", leave=False):
        try:
            frames = list(iter_preprocessed(pair, spec.preprocess, read))
        except DataError as error:
            report.problems.append(str(error))
            continue
        for frame in frames:
            report.quirks.note(frame.record, frame.kind, pair.mask, spec.preprocess.kind)
        report.count("image files", pair.image.suffix.lower())
        report.count("mask files", pair.mask.suffix.lower())
        _tally_pair(report, frames, spec.preprocess.despeckle)
        ids += [frame.record.id for frame in frames]
        groups += [frame.record.group for frame in frames]
    if not report.problems:
        # The sampling and split settings can still be impossible for this folder.
        try:
            report.split = _describe_split(spec, ids, groups)
        except ConfigError as error:
            report.problems.append(str(error))
    return report


def _tally_pair(
    report: CheckReport, frames: list[PreprocessedFrame], despeckle: bool | str
) -> None:
    first = frames[0].record
    if first.stack_shape is not None:
        report.stacks += 1
        report.stack_frames += len(frames)
        report.count("cine stack shapes", "x".join(map(str, first.stack_shape)))
    report.frames += len(frames)
    n = len(frames)
    report.count("frame sizes", "x".join(map(str, first.image.shape)), n)
    report.count("frame dtypes", str(first.image.dtype), n)
    report.count("frame kinds", frames[0].kind, n)
    # With despeckle=auto this depends on the kind: say which frames got it.
    report.count("despeckled", "yes" if despeckles(despeckle, frames[0].kind) else "no", n)
    if first.image_variable is not None:
        report.count("MAT variables (images)", first.image_variable)
    if first.mask_variable is not None:
        report.count("MAT variables (masks)", first.mask_variable)
    report.foreground += [float(np.mean(frame.record.mask)) for frame in frames]


def _describe_split(spec: DataSpec, ids: list[str], groups: list[str]) -> str:
    samples = spec.sample_table(ids, groups)
    split = spec.split_of(samples)
    how = (
        f"fold {spec.fold} of {spec.n_folds}"
        if spec.fold is not None
        else f"holdout {spec.val_fraction:g}"
    )
    return (
        f"{len(split.train)} train / {len(split.val)} val of {len(samples)} samples "
        f"({spec.split_mode}, {how}, {len(set(samples.groups))} groups)"
    )


def _tally(counter: Counter[str]) -> str:
    common = counter.most_common()
    shown = ", ".join(f"{value} ({n})" for value, n in common[:_SHOWN_VALUES])
    more = len(common) - _SHOWN_VALUES
    return f"{shown}, +{more} more" if more > 0 else shown


def format_report(report: CheckReport, spec: DataSpec) -> str:
    """The report as a two-column table, then one line per warning and one per problem.

    Args:
        report: from :func:`check_folder`.
        spec: the settings it was checked with.
    """
    rows = [
        ("data folder", str(report.root)),
        ("layout", report.layout),
        ("pairs", str(report.pairs)),
        (
            "frames",
            f"{report.frames} ({report.stacks} cine stacks holding {report.stack_frames})",
        ),
    ]
    rows += [(what, _tally(counter)) for what, counter in report.counts.items()]
    rows.append(
        (
            "preprocessing",
            f"kind={spec.preprocess.kind}, despeckle={show(spec.preprocess.despeckle)}, "
            f"size={spec.preprocess.image_size}",
        )
    )
    if report.foreground:
        fg = np.asarray(report.foreground)
        rows.append(
            (
                "mask foreground",
                f"mean {fg.mean():.1%}, min {fg.min():.1%}, max {fg.max():.1%}; "
                f"{int(np.sum(fg == 0))} empty masks",
            )
        )
    rows.append(("split", report.split or "not checked (fix the problems first)"))
    warnings = [f"warning: {message}" for message in report.quirks.messages()]
    rows.append(("warnings", str(len(warnings))))
    rows.append(("problems", str(len(report.problems))))
    width = max(len(name) for name, _ in rows) + 2
    lines = [f"{name:<{width}}{value}" for name, value in rows]
    return "\n".join([*lines, *warnings, *report.problems])


def check_data(cfg: DictConfig) -> None:
    """Check the configured data folder and print the table; a DataError on any problem.

    Args:
        cfg: the data checker's configuration (``conf/check.yaml``).
    """
    validate(cfg, CheckConfig)
    spec = spec_from_config(OmegaConf.to_container(cfg.data, resolve=True), seed=cfg.seed)
    spec.prepare()
    report = check_folder(spec)
    print(format_report(report, spec))
    if report.problems:
        count = len(report.problems)
        raise DataError(report.root, f"{count} problem{'s' if count > 1 else ''} (see above)")


main = command(check_data, "check")


if __name__ == "__main__":
    main()
