"""Bad input end to end: the data checker and the train CLI both stop with one line per problem.

Every case is a small folder (three good pairs plus one defect) or a bad config value. The
checker runs on each case; the train CLI, which costs seconds of imports per run, on a
representative subset covering each way an error reaches it (reading, pairing, masks, MAT
variables, values, the folder, config values).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from conftest import run_module, tiny_overrides
from folders import blob_pair, make_folder, write_array


@dataclass(frozen=True)
class Case:
    """A defect: how to make it, extra overrides, and what the error names (file or key)."""

    make: Callable[[Path], None]
    where: str  # the file (relative to the case folder) or the config key the message names
    problem: str  # a fragment of the message
    overrides: tuple[str, ...] = ()


def replace_image(root: Path, name: str, write: Callable[[Path], None]) -> None:
    """Swap images/f1.png for another file (the mask stays masks/f1.png)."""
    (root / "images/f1.png").unlink()
    write(root / "images" / name)


def unreadable(root: Path) -> None:
    (root / "images/f1.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 10)


def truncated_mat(root: Path) -> None:
    def write(path: Path) -> None:
        scipy.io.savemat(path, {"frame": np.random.default_rng(0).random((24, 16))})
        path.write_bytes(path.read_bytes()[:200])

    replace_image(root, "f1.mat", write)


def two_arrays(root: Path) -> None:
    arrays = {"env": np.ones((24, 16)) + np.eye(24, 16), "raw": np.ones((24, 16)) * 2}
    replace_image(root, "f1.mat", lambda path: scipy.io.savemat(path, arrays))


def all_mat(root: Path) -> None:
    for k in range(3):
        image, _ = blob_pair((24, 16), k)
        (root / f"images/f{k}.png").unlink()
        write_array(root / f"images/f{k}.mat", image.astype(np.float32) + 1)


def cine_mismatch(root: Path) -> None:
    stack = np.random.default_rng(0).random((24, 16, 3)) + 0.1
    write_array(root / "images/clip.mat", stack)
    write_array(root / "masks/clip.mat", np.zeros((24, 16, 2), np.uint8), mat_name="mask")


def four_d(root: Path) -> None:
    replace_image(
        root, "f1.mat", lambda p: write_array(p, np.random.default_rng(0).random((24, 16, 2, 2)))
    )


def non_finite(root: Path) -> None:
    frame = np.random.default_rng(0).random((24, 16)).astype(np.float32)
    frame[3, 4] = np.nan
    frame[5, 6] = np.inf
    replace_image(root, "f1.tif", lambda p: write_array(p, frame))


def constant(root: Path) -> None:
    write_array(root / "images/f1.png", np.full((24, 16), 77, np.uint8))


def size_mismatch(root: Path) -> None:
    write_array(root / "masks/f1.png", np.zeros((20, 16), np.uint8))


def non_binary(root: Path) -> None:
    write_array(root / "masks/f1.png", (np.arange(24 * 16) % 200).astype(np.uint8).reshape(24, 16))


def empty(root: Path) -> None:
    for folder in ("images", "masks"):
        for path in (root / folder).iterdir():
            path.unlink()


CASES: dict[str, Case] = {
    "unreadable file": Case(unreadable, "images/f1.png", "cannot read PNG file"),
    "truncated MAT": Case(truncated_mat, "images/f1.mat", "cannot read MAT file"),
    "image without mask": Case(
        lambda r: (r / "masks/f2.png").unlink(), "images/f2.png", "no mask for this image"
    ),
    "mask without image": Case(
        lambda r: write_array(r / "masks/zz.png", np.zeros((24, 16), np.uint8)),
        "masks/zz.png",
        "no image for this mask",
    ),
    "size mismatch": Case(size_mismatch, "masks/f1.png", "must have the same shape"),
    "non-binary mask": Case(non_binary, "masks/f1.png", "mask is not binary"),
    "empty folder": Case(empty, "images", "no images found"),
    "two arrays, no mat_key": Case(two_arrays, "images/f1.mat", "several numeric arrays"),
    "wrong mat_key": Case(
        all_mat, "images/f0.mat", "no MAT variable 'nope'", ("data.mat_key=nope",)
    ),
    "cine mask stack shape": Case(cine_mismatch, "masks/clip.mat", "mask is a 3-D stack (24x16x2)"),
    "4-D array": Case(four_d, "images/f1.mat", "4-D array"),
    "NaN/inf in a frame": Case(non_finite, "images/f1.tif", "2 non-finite values"),
    "zero-variance frame": Case(constant, "images/f1.png", "frame is constant"),
    "missing data folder": Case(
        lambda r: None, "missing", "data folder does not exist", ("data.root={root}/missing",)
    ),
    # The message names the key and the value (its wording differs between the checker and
    # the train CLI, which validates its whole config before any work).
    "unknown data.split": Case(lambda r: None, "data.split", "bogus", ("data.split=bogus",)),
    "unknown data.augment": Case(lambda r: None, "data.augment", "bogus", ("data.augment=bogus",)),
}
# One per way an error reaches training: a reader, pairing, mask rules, MAT variables, frame
# values, the folder itself, config values.
TRAIN_CASES = [
    "unreadable file",
    "image without mask",
    "non-binary mask",
    "two arrays, no mat_key",
    "NaN/inf in a frame",
    "missing data folder",
    "unknown data.split",
    "unknown data.augment",
]


@pytest.fixture(scope="module")
def case_roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every case's folder, built once: three good pairs, then the defect."""
    base = tmp_path_factory.mktemp("bad")
    roots = {}
    for index, (name, case) in enumerate(CASES.items()):
        root = base / f"case{index}"
        make_folder(root, n=3)
        case.make(root)
        roots[name] = root
    return roots


def case_args(case: Case, root: Path) -> list[str]:
    overrides = [o.format(root=root) for o in case.overrides]
    if not any(o.startswith("data.root=") for o in overrides):
        overrides.append(f"data.root={root}")
    return overrides


def expected_prefix(case: Case, root: Path) -> str:
    return case.where if case.where.startswith("data.") else f"{root / case.where}: "


def assert_one_line_error(result: subprocess.CompletedProcess[str], case: Case, root: Path):
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    prefix = expected_prefix(case, root)
    lines = [line for line in output.splitlines() if prefix in line and case.problem in line]
    assert lines, (prefix, case.problem, output[-3000:])


@pytest.mark.parametrize("name", list(CASES))
def test_checker_names_the_file_and_the_problem(case_roots, tmp_path, name):
    case, root = CASES[name], case_roots[name]
    result = run_module("lus_unet.check", *case_args(case, root), cwd=tmp_path)
    assert_one_line_error(result, case, root)


@pytest.mark.parametrize("name", TRAIN_CASES)
def test_train_cli_stops_before_training(case_roots, tmp_path, name):
    case, root = CASES[name], case_roots[name]
    run = tmp_path / "run"
    result = run_module(
        "lus_unet.train",
        *tiny_overrides("xunet"),
        *case_args(case, root),
        f"hydra.run.dir={run}",
        f"paths.cache_dir={tmp_path / 'cache'}",
        cwd=tmp_path,
    )
    assert_one_line_error(result, case, root)
    for product in ("split.json", "checkpoints", "tensorboard", "metrics.json"):
        assert not (run / product).exists(), product


def test_checker_lists_every_bad_file_and_counts_the_good_ones(tmp_path):
    root = tmp_path / "data"
    make_folder(root, n=6)
    unreadable(root)
    non_binary_mask = np.arange(24 * 16).reshape(24, 16) % 200
    write_array(root / "masks/f2.png", non_binary_mask.astype(np.uint8))
    (root / "masks/f3.png").unlink()
    write_array(root / "masks/zz.png", np.zeros((24, 16), np.uint8))
    write_array(root / "images/f4.png", np.full((24, 16), 5, np.uint8))
    (root / "images/notes.txt").write_text("not data")
    result = run_module("lus_unet.check", f"data.root={root}", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    expected = {
        "images/f1.png": "cannot read PNG file",
        "masks/f2.png": "mask is not binary",
        "images/f3.png": "no mask for this image",
        "masks/zz.png": "no image for this mask",
        "images/f4.png": "frame is constant",
        "images/notes.txt": "unexpected file type",
    }
    for file, problem in expected.items():
        matching = [line for line in lines if line.startswith(f"{root / file}: ")]
        assert len(matching) == 1 and problem in matching[0], (file, result.stdout)
    table = dict(line.split(None, 1) for line in lines if line.startswith(("pairs", "problems")))
    assert table == {"pairs": "5", "problems": "6"}  # f0..f5 less f3; six bad entries
    assert "6 problems (see above)" in result.stdout + result.stderr


def test_checker_summarises_a_good_folder(tmp_path):
    root = tmp_path / "data"
    make_folder(root, n=4)
    cine_mismatch(root)
    (root / "masks/clip.mat").unlink()
    write_array(root / "masks/clip.mat", np.zeros((24, 16, 3), np.uint8), mat_name="roi")
    result = run_module("lus_unet.check", f"data.root={root}", "size=all", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = dict(line.split(None, 1) for line in result.stdout.splitlines() if "  " in line)
    rows = {key: value.strip() for key, value in rows.items()}
    assert rows["pairs"] == "5"
    assert rows["frames"] == "7 (1 cine stacks holding 3)"
    assert rows["problems"] == "0"
    assert "linear (3)" in result.stdout and "log (4)" in result.stdout
    assert "uint8 (4)" in result.stdout and "float64 (3)" in result.stdout
    assert "frame (1)" in result.stdout and "roi (1)" in result.stdout
    assert re.fullmatch(
        r"\d train / \d val of 7 samples \(grouped, holdout 0.2, 5 groups\)", rows["split"]
    )
