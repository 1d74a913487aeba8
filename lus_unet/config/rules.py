"""What a configuration value may be beyond its type, as ``typing.Annotated`` metadata.

``Annotated[int, Range(ge=1)]`` is an integer of at least 1; ``Annotated[str, OneOf(NAMES)]``
one of the names. A rule sees only values of the right type and never ``null``: the type
itself says whether ``null`` is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class Range:
    """A number between bounds: ``ge``/``gt`` below, ``le``/``lt`` above (None: unbounded)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (None: nothing)."""
        fits = (
            (self.ge is None or value >= self.ge)
            and (self.gt is None or value > self.gt)
            and (self.le is None or value <= self.le)
            and (self.lt is None or value < self.lt)
        )
        return None if fits else f"must be {self.text()}"

    def text(self) -> str:
        """The range in words: ``>= 0``, ``positive``, ``between 0 and 1``."""
        low = self.ge if self.ge is not None else self.gt
        high = self.le if self.le is not None else self.lt
        if low is not None and high is not None:
            if self.ge is not None and self.le is not None:
                return f"between {_number(low)} and {_number(high)}"
            if self.gt is not None and self.lt is not None:
                return f"between {_number(low)} and {_number(high)}, exclusive"
            below = f">= {_number(low)}" if self.ge is not None else f"> {_number(low)}"
            above = f"<= {_number(high)}" if self.le is not None else f"< {_number(high)}"
            return f"{below} and {above}"
        if self.gt == 0 and high is None:
            return "positive"
        if low is not None:
            return f">= {_number(low)}" if self.ge is not None else f"> {_number(low)}"
        if high is not None:
            return f"<= {_number(high)}" if self.le is not None else f"< {_number(high)}"
        return "a number"


@dataclass(frozen=True)
class AtLeast:
    """A count of at least ``n`` (a batch size, a number of folds or epochs)."""

    n: int

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (None: nothing)."""
        return None if value >= self.n else f"must be at least {self.n}"


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of names (the registry of the code that uses the value)."""

    values: Sequence[Any]

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (None: nothing)."""
        if value in self.values:
            return None
        return f"unknown value; valid: {', '.join(str(v) for v in self.values)}"


@dataclass(frozen=True)
class Length:
    """A list of exactly ``n`` items."""

    n: int

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (None: nothing)."""
        return None if len(value) == self.n else f"must have {self.n} items"


@dataclass(frozen=True)
class NotEmpty:
    """A list with at least one item."""

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (None: nothing)."""
        return None if len(value) else "must not be empty"


@dataclass(frozen=True)
class MultipleOf:
    """An integer multiple of ``k``."""

    k: int

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (None: nothing)."""
        return None if value % self.k == 0 else f"must be a multiple of {self.k}"


@dataclass(frozen=True)
class Matches:
    """A string matching a regular expression in full, described in words."""

    pattern: str
    description: str

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (None: nothing)."""
        return None if re.fullmatch(self.pattern, value) else f"must be {self.description}"


@dataclass(frozen=True)
class Explain:
    """Replaces whatever the type or the other rules say is wrong with one sentence."""

    text: str


@dataclass(frozen=True)
class Required:
    """The key must not be null or empty; ``hint`` shows what to give: ``checkpoint=<hint>``."""

    hint: str


@dataclass(frozen=True)
class MayBeAbsent:
    """The key may be missing from the config (e.g. ``fold``, added by ``+fold=``)."""
