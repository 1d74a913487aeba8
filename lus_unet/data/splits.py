"""Seeded, grouped train/validation splits: a group never straddles a split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lus_unet.errors import ConfigError


@dataclass(frozen=True)
class Split:
    """Indices of the training and validation samples."""

    train: np.ndarray
    val: np.ndarray


def _shuffled_groups(groups: Sequence[str], seed: int) -> list[str]:
    # Sorting first makes the result independent of sample order; the seed alone shuffles.
    unique = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(unique))
    return [unique[i] for i in order]


def grouped_kfold(groups: Sequence[str], n_folds: int, seed: int) -> list[Split]:
    """K folds over whole groups, balanced by sample count, reproducible from the seed.

    Groups are shuffled with the seed, then each goes (largest first, ties in shuffled
    order) to the fold holding the fewest samples so far, as in scikit-learn's
    ``GroupKFold`` but seeded.

    Args:
        groups: the group of every sample (a frame and its flip copy share one).
        n_folds: number of folds (at least 2, at most the number of groups).
        seed: shuffling seed.
    """
    n_groups = len(set(groups))
    if not 2 <= n_folds <= n_groups:
        raise ConfigError(
            f"data.n_folds={n_folds}: needs 2 <= n_folds <= number of groups ({n_groups})"
        )
    shuffled = _shuffled_groups(groups, seed)
    sizes = {g: 0 for g in shuffled}
    for g in groups:
        sizes[g] += 1
    ranked = sorted(shuffled, key=lambda g: -sizes[g])  # stable: ties keep shuffled order
    fold_of: dict[str, int] = {}
    load = [0] * n_folds
    for g in ranked:
        fold = int(np.argmin(load))
        fold_of[g] = fold
        load[fold] += sizes[g]
    sample_fold = np.array([fold_of[g] for g in groups])
    indices = np.arange(len(groups))
    return [Split(indices[sample_fold != k], indices[sample_fold == k]) for k in range(n_folds)]


def grouped_holdout(groups: Sequence[str], val_fraction: float, seed: int) -> Split:
    """One split holding out whole groups until ``val_fraction`` of the samples is reached.

    Args:
        groups: the group of every sample.
        val_fraction: target fraction of samples in validation (0 < f < 1).
        seed: shuffling seed.
    """
    if not 0 < val_fraction < 1:
        raise ConfigError(f"data.val_fraction={val_fraction}: must be between 0 and 1")
    shuffled = _shuffled_groups(groups, seed)
    if len(shuffled) < 2:
        raise ConfigError("a train/validation split needs at least two groups of samples")
    target = val_fraction * len(groups)
    val_groups: set[str] = set()
    n_val = 0
    for g in shuffled[:-1]:  # the last group always trains, so training is never empty
        if n_val >= target:
            break
        val_groups.add(g)
        n_val += sum(1 for x in groups if x == g)
    is_val = np.array([g in val_groups for g in groups])
    indices = np.arange(len(groups))
    return Split(indices[~is_val], indices[is_val])
