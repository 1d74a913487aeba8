"""Grouped splits: deterministic, leak-free, covering; the paper's leaky split does leak."""

from __future__ import annotations

import numpy as np
import pytest

from lus_unet.data.samples import build_sample_table, group_of, split_samples
from lus_unet.data.splits import grouped_holdout, grouped_kfold
from lus_unet.errors import ConfigError

FRAME_IDS = [f"pos{2 + i % 2}_{i:03d}" for i in range(40)]


def table(hflip: bool = True, n_frames: int | None = None, group_by: str = "frame"):
    return build_sample_table(
        FRAME_IDS, FRAME_IDS, n_frames=n_frames, hflip_copies=hflip, seed=7, group_by=group_by
    )


def test_flip_copies_share_their_frame_group() -> None:
    samples = table()
    assert len(samples) == 80
    groups = dict(zip(samples.ids, samples.groups, strict=True))
    for frame_id in FRAME_IDS:
        assert groups[f"{frame_id}_hflip"] == groups[frame_id]
    assert samples.flipped.sum() == 40


@pytest.mark.parametrize("fold", range(5))
def test_grouped_folds_never_split_a_frame_from_its_flip(fold: int) -> None:
    samples = table()
    split = split_samples(samples, mode="grouped", fold=fold, n_folds=5, val_fraction=0.2, seed=1)
    train_groups = {samples.groups[i] for i in split.train}
    val_groups = {samples.groups[i] for i in split.val}
    assert not train_groups & val_groups
    assert len(split.val) == 16


def test_folds_cover_every_sample_exactly_once() -> None:
    groups = table().groups
    folds = grouped_kfold(groups, n_folds=5, seed=3)
    val = np.concatenate([f.val for f in folds])
    assert sorted(val.tolist()) == list(range(len(groups)))
    for f in folds:
        assert set(f.train.tolist()) | set(f.val.tolist()) == set(range(len(groups)))


def test_same_seed_same_split_other_seed_other_split() -> None:
    groups = table().groups
    a = [f.val.tolist() for f in grouped_kfold(groups, 5, seed=11)]
    b = [f.val.tolist() for f in grouped_kfold(groups, 5, seed=11)]
    c = [f.val.tolist() for f in grouped_kfold(groups, 5, seed=12)]
    assert a == b
    assert a != c


def test_split_does_not_depend_on_sample_order() -> None:
    groups = table().groups
    reordered = list(reversed(groups))
    val_a = {groups[i] for i in grouped_holdout(groups, 0.2, seed=5).val}
    val_b = {reordered[i] for i in grouped_holdout(reordered, 0.2, seed=5).val}
    assert val_a == val_b


def test_holdout_is_about_the_requested_fraction_and_grouped() -> None:
    samples = table()
    split = split_samples(samples, mode="grouped", fold=None, n_folds=5, val_fraction=0.2, seed=0)
    assert len(split.val) == 16
    assert not {samples.groups[i] for i in split.train} & {samples.groups[i] for i in split.val}


def test_leaky_paper_split_does_leak() -> None:
    samples = table()
    leaks = 0
    for fold in range(5):
        split = split_samples(
            samples, mode="leaky_paper", fold=fold, n_folds=5, val_fraction=0.2, seed=0
        )
        train_groups = {samples.groups[i] for i in split.train}
        leaks += sum(samples.groups[i] in train_groups for i in split.val)
    assert leaks > 0


def test_group_by_regex_groups_by_probe_position() -> None:
    samples = table(group_by=r"pos\d+")
    assert set(samples.groups) == {"pos2", "pos3"}
    assert group_of("subj07_pos2_1", "x", r"^(subj\d+)_") == "subj07"
    with pytest.raises(ConfigError, match="does not match frame id 'abc'"):
        group_of("abc", "abc", r"pos\d+")


def test_n_frames_is_a_seeded_subset() -> None:
    a, b = table(n_frames=20, hflip=False), table(n_frames=20, hflip=False)
    assert a.ids == b.ids and len(a) == 20
    with pytest.raises(ConfigError, match="n_frames=50: the data set has 40 frames"):
        table(n_frames=50)


def test_bad_fold_counts() -> None:
    # An unknown data.split is refused by the config schema (test_config_schema.py).
    with pytest.raises(ConfigError, match="n_folds=1"):
        grouped_kfold(["a", "b"], 1, seed=0)
