"""Untrusted checkpoints and frames cannot run code or exhaust the machine (issue 12, item 4).

Through the real CLIs, batched in one interpreter (:func:`conftest.run_modules`):

- a checkpoint or weights file carrying code (an ``os.system`` pickle payload) is refused as
  such, the code never runs, and torch's advice to use ``weights_only=False`` is never shown;
  a damaged file is called damaged, also without that advice;
- a hand-edited checkpoint's stored config is validated like a user's config, and the
  network it describes is checked against the stored tensors and ``max_parameters`` before
  anything is allocated (``base_channels=4096`` in a small file);
- frames and masks above ``max_pixels`` are refused from their header (a tiny HDF5 ``.mat``
  declaring 50000 x 50000 pixels), in predict, evaluate and the data checker.
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import torch
from conftest import TINY_DATA, run_modules, tiny_overrides
from folders import make_folder, write_array

from lus_unet.data.io import read_array
from lus_unet.data.synthetic import lus_frame
from lus_unet.errors import DataError

EVALUATE, PREDICT, TRAIN, CHECK = (
    "lus_unet.evaluate",
    "lus_unet.predict",
    "lus_unet.train",
    "lus_unet.check",
)
CODE = "refused to load: it carries code that would run on load (pickled posix.system)"
NEVER = "never load it with weights_only=False"
DAMAGED = "not a readable PyTorch weights file (damaged, truncated or another format"
# What torch's own message says; shown, it would point the user at running the payload.
TORCH_ADVICE = ("Re-running `torch.load`", "will likely succeed", "weights_only` set to `False")
TOO_LARGE = "is above the limit of max_pixels="


class _SystemPayload:
    """Unpickling this runs a shell command (the attack), here one that leaves a marker."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@dataclass(frozen=True)
class Case:
    """A call and the fragments one line of its output must hold (``{w}``: the workspace)."""

    module: str
    args: tuple[str, ...]
    where: str
    problems: tuple[str, ...]


def _predict(*args: str, where: str, problems: tuple[str, ...]) -> Case:
    return Case(PREDICT, ("input={w}/frames", "output_dir={w}/pred_{n}", *args), where, problems)


CASES: dict[str, Case] = {
    "os.system payload, evaluate": Case(
        EVALUATE, ("checkpoint={w}/system.ckpt",), "{w}/system.ckpt", (CODE, NEVER)
    ),
    "os.system payload, predict": _predict(
        "checkpoint={w}/system.ckpt", where="{w}/system.ckpt", problems=(CODE, NEVER)
    ),
    "os.system payload, train init_from": Case(
        TRAIN,
        (*tiny_overrides(), "init_from={w}/system.ckpt", "hydra.run.dir={w}/run_init"),
        "{w}/system.ckpt",
        (CODE, NEVER),
    ),
    "os.system payload, train encoder weights": Case(
        TRAIN,
        (
            "model=vunet",
            "model.encoder_weights={w}/system.pth",
            *TINY_DATA,
            "hydra.run.dir={w}/run_enc",
        ),
        "{w}/system.pth",
        (CODE, NEVER),
    ),
    "init_from file of numbers, not tensors": Case(
        TRAIN,
        (*tiny_overrides(), "init_from={w}/numbers.ckpt", "hydra.run.dir={w}/run_numbers"),
        "{w}/numbers.ckpt",
        ("not a state dict of named tensors",),
    ),
    "damaged checkpoint": Case(
        EVALUATE, ("checkpoint={w}/damaged.ckpt",), "{w}/damaged.ckpt", (DAMAGED,)
    ),
    "unknown model name in the stored config": Case(
        EVALUATE,
        ("checkpoint={w}/resnet.ckpt",),
        "{w}/resnet.ckpt",
        ("its stored training config is refused: model.name=resnet: unknown value; valid:",),
    ),
    "unknown data._target_ in the stored config": _predict(
        "checkpoint={w}/target.ckpt",
        where="{w}/target.ckpt",
        problems=("stored training config is refused: data._target_=os.system: unknown value",),
    ),
    "stored config describing a huge network": _predict(
        "checkpoint={w}/huge.ckpt",
        where="{w}/huge.ckpt",
        problems=("parameters, above max_parameters=500000000; refused before building it",),
    ),
    "network above a lower max_parameters": Case(
        EVALUATE,
        ("checkpoint={ckpt}", "max_parameters=1000"),
        "{ckpt}",
        ("above max_parameters=1000",),
    ),
    "HDF5 frame declaring 50000 x 50000": _predict(
        "checkpoint={ckpt}",
        "input={w}/bomb",
        where="{w}/bomb/big.mat",
        problems=("frame of 50000x50000 (2500.0 megapixels)", TOO_LARGE + "16777216"),
    ),
    "frame above a lower max_pixels, predict": _predict(
        "checkpoint={ckpt}",
        "max_pixels=1000",
        where="{w}/frames/a.mat",
        problems=("frame of 960x128", TOO_LARGE + "1000"),
    ),
    "frame above a lower data.max_pixels, evaluate": Case(
        EVALUATE,
        ("checkpoint={ckpt}", "data.root={w}/data", "data.max_pixels=100"),
        "{w}/data/images/f0.png",
        ("frame of 24x16", TOO_LARGE + "100"),
    ),
    "PNG above the default limit, checker": Case(
        CHECK, ("data.root={w}/big_png",), "{w}/big_png/images/f1.png", ("frame of 4200x4000",)
    ),
    "MAT v5 above the default limit, checker": Case(
        CHECK, ("data.root={w}/big_mat",), "{w}/big_mat/images/f1.mat", ("frame of 4200x4000",)
    ),
    "TIFF above a lower data.max_pixels, checker": Case(
        CHECK,
        ("data.root={w}/tiff", "data.max_pixels=100"),
        "{w}/tiff/images/f0.tif",
        ("frame of 24x16", TOO_LARGE + "100"),
    ),
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, tiny_cv_run: Path) -> Path:
    """The hostile files, beside a good checkpoint and good frames."""
    w = tmp_path_factory.mktemp("untrusted")
    for name in ("system.ckpt", "system.pth"):
        with open(w / name, "wb") as handle:
            payload = {"state_dict": {"net.x": _SystemPayload(w / "pwned")}}
            torch.save(payload, handle, pickle_module=pickle)
    torch.save({"state_dict": {"net.x": 3, 7: torch.zeros(1)}}, w / "numbers.ckpt")
    (w / "damaged.ckpt").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    for name, key, value in (
        ("resnet", "model", {"name": "resnet"}),
        ("target", "data", {"_target_": "os.system"}),
        ("huge", "model", {"base_channels": 4096}),
    ):
        edited = torch.load(_checkpoint(tiny_cv_run), map_location="cpu", weights_only=True)
        edited["hyper_parameters"]["run_config"][key].update(value)
        torch.save(edited, w / f"{name}.ckpt")

    _, frame, _ = lus_frame(seed=7, index=0)
    (w / "frames").mkdir()
    scipy.io.savemat(w / "frames" / "a.mat", {"frame": frame})
    (w / "bomb").mkdir()
    _write_declared_mat73(w / "bomb" / "big.mat", (50000, 50000))
    make_folder(w / "data", n=3)
    # 16.8 megapixels of zeros: a few KB compressed, just above the default limit.
    zeros = np.zeros((4200, 4000), np.uint8)
    for name in ("big_png", "big_mat"):
        make_folder(w / name, n=3)
        (w / name / "images" / "f1.png").unlink()
    write_array(w / "big_png" / "images" / "f1.png", zeros)
    scipy.io.savemat(w / "big_mat" / "images" / "f1.mat", {"frame": zeros}, do_compression=True)
    make_folder(w / "tiff", n=3, image_suffix=".tif")
    return w


def _checkpoint(run: Path) -> Path:
    return run / "fold_0" / "checkpoints" / "best.ckpt"


def _write_declared_mat73(path: Path, shape: tuple[int, int]) -> None:
    """A MAT v7.3 file whose frame declares ``shape`` but holds only a few KB (zeros)."""
    with h5py.File(path, "w") as f:
        data = f.create_dataset("frame", shape=shape[::-1], dtype="f8", chunks=(256, 256))
        data.attrs["MATLAB_class"] = np.bytes_("double")


@pytest.fixture(scope="module")
def outcomes(workspace: Path, tiny_cv_run: Path, cache_dir: Path) -> dict[str, object]:
    """Every case's call, batched."""
    calls = []
    for n, case in enumerate(CASES.values()):
        args = [_fill(arg, workspace, tiny_cv_run, n) for arg in case.args]
        if case.module in (TRAIN, CHECK):
            args.append(f"paths.cache_dir={cache_dir}")
        calls.append((case.module, args, {}))
    return dict(zip(CASES, run_modules(calls, cwd=workspace), strict=True))


def _fill(template: str, w: Path, run: Path, n: int = 0) -> str:
    return template.format(w=w, ckpt=_checkpoint(run), n=n)


@pytest.mark.parametrize("name", list(CASES))
def test_untrusted_input_is_refused_in_one_line(outcomes, workspace, tiny_cv_run, name):
    case, result = CASES[name], outcomes[name]
    assert isinstance(result, subprocess.CompletedProcess)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    where = _fill(case.where, workspace, tiny_cv_run)
    lines = [line for line in output.splitlines() if where in line]
    assert any(all(p in line for p in case.problems) for line in lines), output[-3000:]
    assert not any(advice in output for advice in TORCH_ADVICE), output[-3000:]


def test_the_payload_never_ran(outcomes, workspace):
    assert outcomes  # every call has run
    assert not (workspace / "pwned").exists()


def test_a_damaged_file_is_not_said_to_carry_code(outcomes):
    result = outcomes["damaged checkpoint"]
    assert isinstance(result, subprocess.CompletedProcess)
    assert "carries code" not in result.stdout + result.stderr
    assert not re.search(r"weights_only", result.stdout + result.stderr)


def test_an_oversized_frame_is_refused_before_its_data_is_read(tmp_path, monkeypatch):
    path = tmp_path / "big.mat"
    _write_declared_mat73(path, (50000, 50000))

    def no_reading(*args, **kwargs):
        raise AssertionError("the frame's data was read")

    monkeypatch.setattr(h5py.Dataset, "__getitem__", no_reading)
    with pytest.raises(DataError, match=r"frame of 50000x50000 .* max_pixels=16777216"):
        read_array(path)
