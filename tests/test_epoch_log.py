"""Batch jobs get one log line per epoch instead of a progress bar (issue 14, item 6)."""

from __future__ import annotations

import logging
import re

import pytest
from conftest import tiny_overrides

from lus_unet.train import train
from lus_unet.training import trainer as trainer_module

LINE = re.compile(
    r"^epoch (\d+)/2: train/loss \S+ val/loss \S+ val/dice \S+ val/iou \S+ .*\(\S+ s\)$"
)
BAR = re.compile(r"Epoch \d+: +\d+%\|")  # tqdm's training bar, as Lightning draws it


def _train(compose_train, monkeypatch, caplog, capsys, terminal: bool) -> tuple[list[str], str]:
    monkeypatch.setattr(trainer_module, "stdout_is_terminal", lambda: terminal)
    cfg = compose_train(
        *tiny_overrides(),
        "trainer.max_epochs=2",
        "++trainer.enable_progress_bar=true",  # what a batch job must not get
    )
    capsys.readouterr()
    with caplog.at_level(logging.INFO, logger="lus_unet.training.epoch_log"):
        train(cfg)
    lines = [r.getMessage() for r in caplog.records if r.name == "lus_unet.training.epoch_log"]
    return lines, capsys.readouterr().out  # Lightning's tqdm bars write to stdout


def test_without_a_terminal_each_epoch_is_one_log_line(compose_train, monkeypatch, caplog, capsys):
    lines, out = _train(compose_train, monkeypatch, caplog, capsys, terminal=False)
    matches = [LINE.match(line) for line in lines]
    assert all(matches) and [m.group(1) for m in matches] == ["1", "2"], lines
    assert not BAR.search(out)


def test_a_terminal_keeps_the_progress_bar(compose_train, monkeypatch, caplog, capsys):
    lines, out = _train(compose_train, monkeypatch, caplog, capsys, terminal=True)
    assert lines == []
    assert BAR.search(out)


@pytest.mark.parametrize(("isatty", "expected"), [(True, True), (False, False)])
def test_stdout_is_terminal_asks_stdout(monkeypatch, isatty, expected):
    from lus_unet.training import epoch_log

    class Stream:
        def isatty(self) -> bool:
            return isatty

    monkeypatch.setattr(epoch_log.sys, "stdout", Stream())
    assert epoch_log.stdout_is_terminal() is expected
