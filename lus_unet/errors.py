"""Exceptions with a one-line, user-facing message (the CLIs print them without a traceback)."""

from __future__ import annotations

from pathlib import Path


class LusUnetError(Exception):
    """Base class for errors caused by the user's input or configuration, not by a bug."""


class DataError(LusUnetError):
    """A data file or folder is unusable.

    Args:
        path: the offending file or folder.
        problem: what is wrong with it, in a few words.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class ConfigError(LusUnetError):
    """A configuration value is invalid (unknown name, out of range, inconsistent)."""


class WeightsError(LusUnetError):
    """A weights or checkpoint file is missing, unsafe or does not match the model."""


class TrainingError(LusUnetError):
    """Training cannot go on (e.g. the loss became NaN or infinite); checkpoints are kept."""
