"""The sample table: which frames are used, their flip copies, and their split groups."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lus_unet.data.splits import Split, grouped_holdout, grouped_kfold
from lus_unet.errors import ConfigError

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


def build_sample_table(
    frame_ids: Sequence[str],
    frame_groups: Sequence[str],
    *,
    n_frames: int | None,
    hflip_copies: bool,
    seed: int,
    group_by: str = "frame",
) -> SampleTable:
    """Choose ``n_frames`` frames with the seed and add their flip copies if asked.

    Args:
        frame_ids: ids of all available frames.
        frame_groups: source group of every frame (frames of one cine file share one).
        n_frames: how many source frames to use (None = all), chosen reproducibly by seed.
        hflip_copies: add each chosen frame's horizontal flip (200 frames -> 400 samples).
        seed: selection seed.
        group_by: ``frame`` or a regex on frame ids, see :func:`group_of`.
    """
    available = len(frame_ids)
    if n_frames is None:
        chosen = np.arange(available)
    elif not 1 <= n_frames <= available:
        raise ConfigError(f"data.n_frames={n_frames}: the data set has {available} frames")
    else:
        chosen = np.sort(np.random.default_rng(seed).choice(available, n_frames, replace=False))
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
