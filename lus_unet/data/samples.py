"""The sample table: which frames are used, their flip copies, and their split groups."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lus_unet.data.splits import Split, grouped_holdout, grouped_kfold
from lus_unet.errors import ConfigError, DataError

SPLIT_MODES = ("grouped", "leaky_paper")
FLIP_SUFFIX = "_hflip"


@dataclass(frozen=True)
class SampleTable:
    """Samples derived from a frame set: a subset of frames plus optional flip copies.

    Attributes:
        ids: sample ids (a flip copy is ``<frame id>_hflip``).
        groups: split group of every sample; a flip copy shares its source frame's group.
        frame_index: index into the frame set of every sample.
        flipped: whether the sample is the horizontal flip of its frame.
    """

    ids: list[str]
    groups: list[str]
    frame_index: np.ndarray
    flipped: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def group_of(frame_id: str, source_group: str, group_by: str) -> str:
    """A frame's split group: its source file (``frame``) or a regex match on its id.

    With a regex, the first capture group is the group if the pattern has one, else the
    whole match; e.g. ``pos\\d+`` groups frames by probe position.
    """
    if group_by == "frame":
        return source_group
    try:
        match = re.search(group_by, frame_id)
    except re.error as error:
        raise ConfigError(
            f"data.group_by='{group_by}': not a regular expression ({error})"
        ) from None
    if match is None:
        raise ConfigError(
            f"data.group_by='{group_by}' does not match frame id '{frame_id}'; every id must match"
        )
    return match.group(1) if match.groups() else match.group(0)


def read_frames_file(path: str | Path) -> list[str]:
    """The source-frame ids ``data.frames_file`` lists, one per line, in the file's order.

    Surrounding whitespace, blank lines and ``#`` comment lines are ignored, so that a list can
    be annotated. The ids are checked against the data set by :func:`build_sample_table`.

    Args:
        path: the text file.

    Raises:
        DataError: naming the file, when it cannot be read, lists no id or lists one twice.
    """
    path = Path(path).expanduser()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(path, f"cannot read the frames file (data.frames_file): {reason}") from None
    ids: list[str] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        frame_id = line.strip()
        if not frame_id or frame_id.startswith("#"):
            continue
        if frame_id in first_line:
            raise DataError(
                path,
                f"data.frames_file lists frame id '{frame_id}' twice "
                f"(lines {first_line[frame_id]} and {number})",
            )
        first_line[frame_id] = number
        ids.append(frame_id)
    if not ids:
        raise DataError(path, "data.frames_file lists no frame id (one source-frame id per line)")
    return ids


def _listed_frames(frames_file: str | Path, frame_ids: Sequence[str]) -> np.ndarray:
    """The indices into ``frame_ids`` of the ids ``frames_file`` lists, in the file's order."""
    listed = read_frames_file(frames_file)
    index = {frame_id: k for k, frame_id in enumerate(frame_ids)}
    unknown = [frame_id for frame_id in listed if frame_id not in index]
    if unknown:
        shown = ", ".join(f"'{u}'" for u in unknown[:3]) + ("..." if len(unknown) > 3 else "")
        # Flip copies are made from the source frames (data.hflip_copies), never listed.
        hint = (
            "list source frames, not flip copies"
            if any(u.endswith(FLIP_SUFFIX) for u in unknown)
            else f"ids are file stems (frame k of a cine file: <stem>_f<k>), e.g. '{frame_ids[0]}'"
        )
        raise DataError(
            Path(frames_file).expanduser(),
            f"data.frames_file lists {len(unknown)} id(s) not in the data set ({shown}); {hint}",
        )
    return np.array([index[frame_id] for frame_id in listed], dtype=np.int64)


def build_sample_table(
    frame_ids: Sequence[str],
    frame_groups: Sequence[str],
    *,
    n_frames: int | None,
    hflip_copies: bool,
    seed: int,
    group_by: str = "frame",
    frames_file: str | Path | None = None,
) -> SampleTable:
    """Take the first ``n_frames`` source frames of one fixed order, and their flips if asked.

    The order is a seeded permutation of every frame, or the order of ``frames_file``. Taking a
    prefix makes the sizes nested, as the paper's are: with one seed, the 200 frames of lus200
    and lus400 are among the 300 of lus600 (a draw per size would share only some of them).

    Args:
        frame_ids: ids of all available frames.
        frame_groups: source group of every frame (frames of one cine file share one).
        n_frames: how many source frames to use (None = all of the order).
        hflip_copies: add each chosen frame's horizontal flip (200 frames -> 400 samples).
        seed: the permutation's seed.
        group_by: ``frame`` or a regex on frame ids, see :func:`group_of`.
        frames_file: a text file of source-frame ids (:func:`read_frames_file`): only these
            frames, in its order, instead of the seeded permutation of all.

    Raises:
        ConfigError: more frames asked for than the order holds.
        DataError: a bad ``frames_file``, naming it.
    """
    available = len(frame_ids)
    if frames_file is not None:
        order = _listed_frames(frames_file, frame_ids)
        where = f"data.frames_file {frames_file} lists {len(order)} frames"
    else:
        order = np.random.default_rng(seed).permutation(available)
        where = f"the data set has {available} frames (size=all uses every frame)"
    if n_frames is not None and not 1 <= n_frames <= len(order):
        raise ConfigError(f"data.n_frames={n_frames}: {where}")
    # Frame-set order within the table: the samples do not depend on how they were listed.
    chosen = np.sort(order if n_frames is None else order[:n_frames])
    groups = [group_of(frame_ids[i], frame_groups[i], group_by) for i in chosen]
    ids = [frame_ids[i] for i in chosen]
    flipped = np.zeros(len(chosen), dtype=bool)
    if hflip_copies:
        ids += [f"{i}{FLIP_SUFFIX}" for i in ids]
        groups += groups
        chosen = np.concatenate([chosen, chosen])
        flipped = np.concatenate([flipped, ~flipped])
    return SampleTable(ids, groups, chosen, flipped)


def split_samples(
    table: SampleTable,
    *,
    mode: str,
    fold: int | None,
    n_folds: int,
    val_fraction: float,
    seed: int,
) -> Split:
    """Split the samples: grouped (default) or the authors' leaky image-level k-fold.

    Args:
        table: the samples.
        mode: one of :data:`SPLIT_MODES` (checked by the config schema): ``grouped``, or
            ``leaky_paper``: every sample is its own group, so a frame and its flip copy can
            land on opposite sides (the paper's protocol; only to measure the leak).
        fold: fold index, or None for one holdout split of ``val_fraction``.
        n_folds: number of folds.
        val_fraction: validation fraction of the holdout split.
        seed: split seed.
    """
    groups = table.ids if mode == "leaky_paper" else table.groups
    if fold is None:
        return grouped_holdout(groups, val_fraction, seed)
    return grouped_kfold(groups, n_folds, seed)[fold]
