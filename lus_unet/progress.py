"""Progress bars that stay readable in a batch job's log.

On a terminal a bar redraws in place; written to a file every redraw is a new carriage-return
line, so a bar over a few hundred files fills a cluster log. Off a terminal the bars here
redraw at most every :data:`LOG_INTERVAL_S` seconds: a short loop shows its start and end, a
long one a line every half minute.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TextIO

from tqdm.auto import tqdm

LOG_INTERVAL_S = 30.0


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal (else: a file, a pipe, a batch log)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def progress(iterable: Iterable[Any], desc: str, unit: str, **options: Any) -> tqdm:
    """A tqdm bar over ``iterable``, throttled to one redraw per 30 s off a terminal.

    Args:
        iterable: what to iterate over.
        desc: the bar's label.
        unit: what one item is (``file``, ``frame``).
        **options: further tqdm options (``leave``, ``total``).
    """
    if not is_terminal(sys.stderr):  # where tqdm draws
        options.setdefault("mininterval", LOG_INTERVAL_S)
    return tqdm(iterable, desc=desc, unit=unit, **options)
