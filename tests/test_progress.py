"""Progress bars in a batch log: throttled off a terminal, untouched on one."""

import io
import sys
import time

import pytest

from lus_unet import progress as progress_module
from lus_unet.progress import progress


class _Stream(io.StringIO):
    def __init__(self, terminal: bool) -> None:
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


def _redraws(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> int:
    stream = _Stream(terminal)
    monkeypatch.setattr(sys, "stderr", stream)
    for _ in progress(range(20), "Preprocessing test", "file", file=stream):
        time.sleep(0.02)  # 0.4 s in all: several of tqdm's default 0.1 s refresh intervals
    return stream.getvalue().count("\r")


def test_a_bar_in_a_log_file_redraws_only_at_its_start_and_end(monkeypatch):
    assert _redraws(monkeypatch, terminal=False) <= 2


def test_a_bar_on_a_terminal_keeps_redrawing(monkeypatch):
    assert _redraws(monkeypatch, terminal=True) > 2


def test_the_log_interval_is_what_a_batch_log_gets(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Stream(False))
    bar = progress([1], "x", "file", file=io.StringIO())
    assert bar.mininterval == progress_module.LOG_INTERVAL_S
    bar.close()
