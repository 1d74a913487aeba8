"""The `fold` value: absent, one fold, or an inclusive range."""

from __future__ import annotations

import pytest

from lus_unet.errors import ConfigError
from lus_unet.folds import is_fold_range, parse_fold_spec


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (0, [0]),
        (4, [4]),
        ("3", [3]),
        ("0..4", [0, 1, 2, 3, 4]),
        ("2..2", [2]),
        (" 1 .. 3 ", [1, 2, 3]),
    ],
)
def test_valid_specs(value, expected) -> None:
    assert parse_fold_spec(value, n_folds=5) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5..2", "empty range"),
        ("0..9", "fold 5 does not exist"),
        (5, "fold 5 does not exist"),
        (-1, "fold -1 does not exist"),
        ("x", "not a fold"),
        ("1..", "not a fold"),
        (True, "not a fold"),
        (1.5, "not a fold"),
    ],
)
def test_invalid_specs_name_the_problem(value, message) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_fold_spec(value, n_folds=5)


def test_range_detection() -> None:
    assert is_fold_range("0..4")
    assert not is_fold_range(3)
    assert not is_fold_range("3")
