"""One bad input file does not stop predict, and ``skip_existing=true`` continues a run.

A folder of three frames, the middle one a truncated MAT file: the good frames are written,
the bad file is named with its reason, in the summary too, and the exit status is 1. The same
command again is refused (its outputs exist), naming ``skip_existing=true``; with it, once the
file is repaired, only what is missing is predicted. Through the real CLI (one interpreter per
batch of calls, :func:`conftest.run_modules`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import scipy.io
from conftest import run_modules

from lus_unet.data.synthetic import lus_frame

PREDICT = "lus_unet.predict"
Result = subprocess.CompletedProcess[str]


def _write_frame(path: Path, seed: int) -> None:
    _, frame, _ = lus_frame(seed=seed, index=0)
    scipy.io.savemat(path, {"frame": frame})


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_cv_run: Path) -> dict[str, object]:
    """The first run, the same command again, then with skip_existing=true after a repair."""
    w = tmp_path_factory.mktemp("keeps_going")
    frames = w / "frames"
    frames.mkdir()
    for name, seed in (("a", 1), ("b", 2), ("c", 3)):
        _write_frame(frames / f"{name}.mat", seed)
    good_b = (frames / "b.mat").read_bytes()
    (frames / "b.mat").write_bytes(good_b[:300])  # truncated: unreadable
    out = w / "pred"
    command = [f"checkpoint={tiny_cv_run / 'fold_0'}", f"input={frames}", f"output_dir={out}"]
    first, again = run_modules([(PREDICT, command, {}), (PREDICT, command, {})], cwd=w)
    kept = {p: (p.stat().st_ino, p.read_bytes()) for p in sorted(out.rglob("*.png"))}
    (frames / "b.mat").write_bytes(good_b)  # repaired
    (out / "overlays" / "a.png").unlink()  # as if killed between a's two files
    (continued,) = run_modules([(PREDICT, [*command, "skip_existing=true"], {})], cwd=w)
    return {
        "w": w,
        "out": out,
        "first": first,
        "again": again,
        "continued": continued,
        "kept": kept,
    }


def _output(result: Result) -> str:
    return result.stdout + result.stderr


def test_a_bad_file_is_skipped_named_and_the_good_ones_written(runs):
    first, out, bad = runs["first"], runs["out"], runs["w"] / "frames" / "b.mat"
    assert first.returncode == 1, _output(first)[-3000:]
    assert "Traceback" not in _output(first)
    assert sorted(p.relative_to(out).as_posix() for p in runs["kept"]) == [
        "masks/a.png",
        "masks/c.png",
        "overlays/a.png",
        "overlays/c.png",
    ]
    lines = first.stdout.splitlines()
    assert any(f"Skipping: {bad}: cannot read MAT file" in line for line in lines)
    assert "1 of 3 input files failed:" in first.stdout  # the summary at the end lists them
    last = [line for line in lines if line.strip()][-1]
    assert f"{bad.parent}: 1 of 3 input files failed and were skipped ({bad}: cannot read" in last
    assert f"2 frames of the others were written to {out}" in last
    assert "re-run with skip_existing=true" in last


def test_the_same_command_again_is_refused_naming_skip_existing(runs):
    again = runs["again"]
    assert again.returncode == 1
    last = [line for line in again.stdout.splitlines() if line.strip()][-1]
    assert "already exist; refusing to overwrite predictions" in last
    assert "pass skip_existing=true to keep them and predict only the missing ones" in last


def test_skip_existing_predicts_only_what_is_missing(runs):
    continued, out = runs["continued"], runs["out"]
    assert continued.returncode == 0, _output(continued)[-3000:]
    assert (
        "skip_existing=true: kept the outputs of 1 frame(s) already there" in continued.stdout
    )  # c
    for path, (inode, content) in runs["kept"].items():
        if path != out / "overlays" / "a.png":
            assert (path.stat().st_ino, path.read_bytes()) == (inode, content)  # untouched
    assert (out / "overlays" / "a.png").read_bytes() == runs["kept"][out / "overlays" / "a.png"][1]
    assert (out / "masks" / "b.png").is_file() and (out / "overlays" / "b.png").is_file()
    # Every file is created whole: no temporary file is left behind.
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]
