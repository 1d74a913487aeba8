"""Data that reads fine but is probably wrong gets one warning per kind (issue 12, item 6).

Every mask empty, every mask full, a mask that is mostly foreground (the inverse of the usual
convention), signed RF-like values in a frame read as an envelope, and 8-bit data inside a
MAT file (log-compressed as if linear): the data checker and training each warn once per
kind, naming the files, and go on. Training warns again when its frames come from the
preprocessing cache. Through the real CLIs, batched in one interpreter.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import run_modules, tiny_overrides
from folders import blob_pair, make_folder, write_array

CHECK, TRAIN = "lus_unet.check", "lus_unet.train"
INVERTED = "masks mostly foreground, the inverse of the usual convention, in 1 frame of 4"
NEGATIVE = "negative values, which an envelope cannot have (signed RF-like data?), in 1 frame"
EIGHT_BIT = "8-bit data in MAT files, log-compressed as a linear envelope"
EMPTY, FULL = "every mask is empty (4 files:", "every mask is full (4 files:"
# kind -> the file its warning must name (relative to the data folder)
QUIRKY = {INVERTED: "masks/f3.png", NEGATIVE: "images/f0.mat", EIGHT_BIT: "images/f1.mat"}


def quirky_folder(root: Path) -> None:
    """Four MAT frames: signed RF values, 8-bit data, two good ones; one inverted mask."""
    make_folder(root, n=4)
    for k in range(4):
        image, _ = blob_pair((24, 16), k)
        (root / f"images/f{k}.png").unlink()
        frame = image.astype(np.float32) + 1
        if k == 0:
            frame = frame * np.random.default_rng(0).choice([-1, 1], size=frame.shape)
        write_array(root / f"images/f{k}.mat", image if k == 1 else frame)
    _, mask = blob_pair((24, 16), 3)
    write_array(root / "masks/f3.png", (1 - mask) * np.uint8(255))


def constant_masks(root: Path, value: int) -> None:
    """Four good frames whose masks are all ``value`` (0 or 255)."""
    make_folder(root, n=4)
    for path in (root / "masks").iterdir():
        write_array(path, np.full((24, 16), value, np.uint8))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The checker on each folder, training twice on the quirky one (built, then cached)."""
    w = tmp_path_factory.mktemp("warnings")
    quirky_folder(w / "quirky")
    constant_masks(w / "empty", 0)
    constant_masks(w / "full", 255)
    cache = f"paths.cache_dir={w / 'cache'}"
    train = [*tiny_overrides(), "+trainer.fast_dev_run=true", cache]
    calls = {
        "check quirky": (CHECK, [f"data.root={w / 'quirky'}", "size=all"]),
        "check empty": (CHECK, [f"data.root={w / 'empty'}", "size=all"]),
        "check full": (CHECK, [f"data.root={w / 'full'}", "size=all"]),
        "train quirky": (TRAIN, [*train, f"data.root={w / 'quirky'}", f"hydra.run.dir={w}/a"]),
        "train quirky, cached": (
            TRAIN,
            [*train, f"data.root={w / 'quirky'}", f"hydra.run.dir={w}/b"],
        ),
        "train empty": (TRAIN, [*train, f"data.root={w / 'empty'}", f"hydra.run.dir={w}/c"]),
    }
    results = run_modules([(m, a, {}) for m, a in calls.values()], cwd=w)
    return {"w": w, **dict(zip(calls, results, strict=True))}


def _warnings(result: object, fragment: str) -> list[str]:
    assert isinstance(result, subprocess.CompletedProcess)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    return [line for line in output.splitlines() if fragment in line]


@pytest.mark.parametrize("call", ["check quirky", "train quirky", "train quirky, cached"])
@pytest.mark.parametrize("fragment", list(QUIRKY))
def test_each_doubt_is_one_warning_naming_its_file(outcomes, call, fragment):
    lines = _warnings(outcomes[call], fragment)
    assert len(lines) == 1, lines
    assert str(outcomes["w"] / "quirky" / QUIRKY[fragment]) in lines[0]
    others = [f"f{k}" for k in range(4) if f"f{k}" not in QUIRKY[fragment]]
    assert not any(f"/{name}." in lines[0] for name in others), lines[0]


def test_the_cached_run_read_the_cache(outcomes):
    result = outcomes["train quirky, cached"]
    assert isinstance(result, subprocess.CompletedProcess)
    assert "from the cache" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("call", "fragment"),
    [("check empty", EMPTY), ("train empty", EMPTY), ("check full", FULL)],
)
def test_constant_masks_are_one_warning(outcomes, call, fragment):
    lines = _warnings(outcomes[call], fragment)
    assert len(lines) == 1, lines
    folder = "empty" if fragment == EMPTY else "full"
    assert str(outcomes["w"] / folder / "masks" / "f0.png") in lines[0]
    assert INVERTED.split(",")[0] not in outcomes[call].stdout  # full: not also "inverted"


def test_the_checker_counts_the_warnings_and_finds_no_problem(outcomes):
    rows = dict(
        line.split(None, 1)
        for line in outcomes["check quirky"].stdout.splitlines()
        if line.startswith(("warnings ", "problems "))
    )
    assert rows == {"warnings": "3", "problems": "0"}
