"""Bad input through the evaluate, predict, train and summary CLIs: one line naming the file or key.

Every case exits with status 1 and no traceback, and one line of its output names the file
(or the config key) together with the problem. Only ``HYDRA_FULL_ERROR=1`` shows the
traceback. The data-folder cases of the checker and of training are in ``test_bad_input.py``;
the schema itself, key by key, in ``test_config_schema.py``.

The cases run as ``python -m`` calls batched in one interpreter (:func:`conftest.run_modules`),
so the imports are paid once; one case also runs in its own process, to show the batch
behaves like a user's shell.
"""

from __future__ import annotations

import pickle
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from conftest import run_module, run_modules, tiny_overrides
from folders import make_folder, write_array
from test_reliability import _Payload

from lus_unet.data.synthetic import lus_frame

EVALUATE, PREDICT, TRAIN = "lus_unet.evaluate", "lus_unet.predict", "lus_unet.train"
SUMMARY = "lus_unet.summary"


@dataclass(frozen=True)
class CliCase:
    """One bad call and what its error line must say.

    ``args``, ``where``, ``problem`` and ``absent`` are templates: ``{w}`` is the workspace,
    ``{ckpt}`` a good tiny checkpoint, ``{cache}`` the test data cache, ``{case}`` a folder name
    of the case's own.
    """

    module: str
    args: tuple[str, ...]
    where: str  # the file or config key the message names
    problem: str  # a fragment of the message, on the same line
    absent: tuple[str, ...] = ()  # what the failed call must not have created
    by_hydra: bool = False  # Hydra's own message (several lines, on stderr), not ours


def evaluate(*args: str, where: str, problem: str, absent: tuple[str, ...] = ()) -> CliCase:
    """An evaluate case; no evaluation folder may appear."""
    return CliCase(EVALUATE, args, where, problem, ("{w}/evaluation", *absent))


def predict(*args: str, where: str, problem: str) -> CliCase:
    """A predict case with the good checkpoint and an output folder that must not appear."""
    output = "{w}/predicted/{case}"
    case = ("checkpoint={ckpt}", *args, f"output_dir={output}")
    return CliCase(PREDICT, case, where, problem, (output,))


def train(
    *args: str, where: str, problem: str, run: str = "{w}/runs/{case}", by_hydra: bool = False
) -> CliCase:
    """A tiny train case in a run folder of its own, which must hold no split afterwards."""
    common = (*tiny_overrides("xunet"), "paths.cache_dir={cache}", f"hydra.run.dir={run}")
    return CliCase(TRAIN, (*common, *args), where, problem, (f"{run}/split.json",), by_hydra)


NOT_TORCH = "not a readable PyTorch weights file"
CASES: dict[str, CliCase] = {
    # evaluate: the checkpoint argument and the files it names
    "no checkpoint given": evaluate(where="checkpoint=", problem="is required"),
    "missing checkpoint file": evaluate(
        "checkpoint={w}/nope.ckpt", where="{w}/nope.ckpt", problem="does not exist"
    ),
    "folder without checkpoints": evaluate(
        "checkpoint={w}/empty_run", where="{w}/empty_run", problem="expected checkpoints/best.ckpt"
    ),
    "garbage checkpoint": evaluate(
        "checkpoint={w}/garbage.ckpt", where="{w}/garbage.ckpt", problem=NOT_TORCH
    ),
    "truncated checkpoint": evaluate(
        "checkpoint={w}/truncated.ckpt", where="{w}/truncated.ckpt", problem=NOT_TORCH
    ),
    "checkpoint carrying a pickle payload": evaluate(
        "checkpoint={w}/evil.ckpt",
        where="{w}/evil.ckpt",
        problem="refused to load: it carries code that would run on load",
        absent=("{w}/pwned",),
    ),
    "another project's checkpoint": evaluate(
        "checkpoint={w}/foreign.ckpt",
        where="{w}/foreign.ckpt",
        problem="not a lus_unet training checkpoint",
    ),
    "weights that do not match the stored config": evaluate(
        "checkpoint={w}/wider.ckpt", where="{w}/wider.ckpt", problem="weights do not match xunet"
    ),
    "data folder with an image without mask": evaluate(
        "checkpoint={ckpt}",
        "data.root={w}/data_bad",
        "output_dir={w}/evaluated",
        where="{w}/data_bad/images/f2.png",
        problem="no mask for this image",
        absent=("{w}/evaluated",),
    ),
    "existing output_dir": evaluate(
        "checkpoint={ckpt}",
        "output_dir={w}/frames_good",
        where="output_dir {w}/frames_good",
        problem="already exists; refusing to overwrite it",
    ),
    "unknown resolution": evaluate(
        "checkpoint={ckpt}",
        "resolution=full",
        where="resolution=full",
        problem="unknown value; valid: network, original",
    ),
    # predict: the input frames and the output folder
    "corrupt MAT frame": predict(
        "input={w}/frames_badmat", where="{w}/frames_badmat/a.mat", problem="cannot read MAT file"
    ),
    "unsupported file type": predict(
        "input={w}/photo.jpg", where="{w}/photo.jpg", problem="unsupported file type"
    ),
    "foreign file in the input folder": predict(
        "input={w}/frames_txt", where="{w}/frames_txt/notes.txt", problem="unexpected file type"
    ),
    "NaN in a frame": predict(
        "input={w}/frames_nan", where="{w}/frames_nan/a.tif", problem="1 non-finite values"
    ),
    "missing input": predict("input={w}/nothing", where="{w}/nothing", problem="does not exist"),
    "output folder already holds results": CliCase(
        PREDICT,
        ("checkpoint={ckpt}", "input={w}/frames_good", "output_dir={w}/taken"),
        "{w}/taken/masks/a.png",
        "refusing to overwrite predictions",
    ),
    "unknown probabilities format": predict(
        "input={w}/frames_good",
        "probabilities=tiff",
        where="probabilities=tiff",
        problem="unknown value; valid: none, npy, png16",
    ),
    # train: config keys and run folders (data folders: test_bad_input.py)
    "unknown model.name": train(
        "model.name=resnet", where="model.name=resnet", problem="unknown value; valid: xunet"
    ),
    "unknown model group (Hydra)": train(
        "model=resnet", where="'model/resnet'", problem="Could not find", by_hydra=True
    ),
    "unknown finetune strategy (Hydra)": train(
        "finetune=nope", where="'finetune/nope'", problem="Could not find", by_hydra=True
    ),
    "unknown config key (Hydra)": train(
        "data.bogus=1", where="'data.bogus'", problem="Could not override", by_hydra=True
    ),
    "fold out of range": train("+fold=9", where="fold=9", problem="fold 9 does not exist"),
    "empty fold range": train("+fold=3..1", where="fold=3..1", problem="empty range"),
    "image size not a multiple of 16": train(
        "data.image_size=[100,100]",
        where="data.image_size=[100, 100]",
        problem="each a positive multiple of 16",
    ),
    "zero batch size": train(
        "data.batch_size=0", where="data.batch_size=0", problem="must be at least 1"
    ),
    "missing init_from file": train(
        "init_from={w}/nope.ckpt", where="init_from", problem="checkpoint not found: {w}/nope.ckpt"
    ),
    "garbage init_from file": train(
        "init_from={w}/garbage.ckpt", where="{w}/garbage.ckpt", problem=NOT_TORCH
    ),
    "resume with nothing to resume": train(
        "resume=true", where="resume=true", problem="no checkpoint to resume from"
    ),
    "finished run folder": train(
        where="{w}/finished", problem="already holds a finished run", run="{w}/finished"
    ),
    # Wrong types, out-of-range values, impossible combinations: the config schema's, each
    # refused before any work (distance_metrics_every_n_epochs=abc used to fail mid-training,
    # trainer.max_epochs=-1 to train forever).
    "lr not a number": train("lr=abc", where="lr=abc", problem="must be a number"),
    "seed not an integer": train("seed=abc", where="seed=abc", problem="must be an integer"),
    "image size of words": train(
        "data.image_size=[a,b]", where="data.image_size=[a, b]", problem="[height, width]"
    ),
    "image size a single number": train(
        "data.image_size=32", where="data.image_size=32", problem="[height, width]"
    ),
    "n_folds not an integer": train(
        "data.n_folds=abc", where="data.n_folds=abc", problem="must be an integer"
    ),
    "zero base channels": train(
        "model.base_channels=0", where="model.base_channels=0", problem="must be at least 1"
    ),
    "decoder of two levels": train(
        "model.decoder_convs=[1,1]",
        where="model.decoder_convs=[1, 1]",
        problem="needs 4 integers from 1 to 16",
    ),
    "GPU the machine lacks": (
        train("trainer.accelerator=gpu", where="trainer.accelerator=gpu", problem="no CUDA GPU")
        if not torch.cuda.is_available()
        else train(
            "trainer.accelerator=gpu",
            f"trainer.devices={torch.cuda.device_count() + 1}",
            where=f"trainer.devices={torch.cuda.device_count() + 1}",
            problem="GPU(s)",
        )
    ),
    "run folder that is a file": train(
        where="hydra.run.dir={w}/a_file", problem="is a file, not a folder", run="{w}/a_file"
    ),
    "distance metrics period not an integer": train(
        "distance_metrics_every_n_epochs=abc",
        where="distance_metrics_every_n_epochs=abc",
        problem="must be an integer",
    ),
    "training without end": train(
        "trainer.max_epochs=-1", where="trainer.max_epochs=-1", problem="must be an integer >= 1"
    ),
    "summary of a width that is no number": CliCase(
        SUMMARY,
        ("model.base_channels=abc",),
        "model.base_channels=abc",
        "must be an integer",
    ),
    "predict batch size not a number": predict(
        "input={w}/frames_good",
        "batch_size=abc",
        where="batch_size=abc",
        problem="must be an integer or null",
    ),
    "predict threshold out of range": predict(
        "input={w}/frames_good",
        "threshold=1.5",
        where="threshold=1.5",
        problem="must be between 0 and 1, exclusive",
    ),
    "predict overlays not a boolean": predict(
        "input={w}/frames_good",
        "overlays=maybe",
        where="overlays=maybe",
        problem="must be true or false",
    ),
    "evaluate batch size zero": evaluate(
        "checkpoint={ckpt}", "batch_size=0", where="batch_size=0", problem="must be at least 1"
    ),
    "evaluate threshold not a number": evaluate(
        "checkpoint={ckpt}", "threshold=abc", where="threshold=abc", problem="must be a number"
    ),
    "evaluate n_worst negative": evaluate(
        "checkpoint={ckpt}", "n_worst=-1", where="n_worst=-1", problem="must be at least 0"
    ),
}
FULL_ERROR_CASE = "garbage checkpoint"  # run once more with HYDRA_FULL_ERROR=1


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, tiny_cv_run: Path) -> Path:
    """Every bad file the cases need, beside good ones, in one folder."""
    w = tmp_path_factory.mktemp("cli_errors")
    checkpoint = tiny_cv_run / "fold_0" / "checkpoints" / "best.ckpt"
    (w / "garbage.ckpt").write_bytes(b"not a torch file " * 20)
    (w / "truncated.ckpt").write_bytes(checkpoint.read_bytes()[:4096])
    with open(w / "evil.ckpt", "wb") as handle:
        torch.save({"state_dict": {"x": _Payload(w / "pwned")}}, handle, pickle_module=pickle)
    torch.save({"encoder.weight": torch.zeros(2)}, w / "foreign.ckpt")
    wider = torch.load(checkpoint, map_location="cpu", weights_only=True)
    wider["hyper_parameters"]["run_config"]["model"]["base_channels"] = 8
    torch.save(wider, w / "wider.ckpt")
    (w / "empty_run").mkdir()
    (w / "a_file").write_text("not a folder")

    _, frame, _ = lus_frame(seed=7, index=0)
    scipy.io.savemat(_folder(w / "frames_good") / "a.mat", {"frame": frame})
    shutil.copytree(w / "frames_good", w / "frames_badmat")
    mat = w / "frames_badmat" / "a.mat"
    mat.write_bytes(mat.read_bytes()[:300])
    with_nan = frame.astype(np.float32)
    with_nan[5, 5] = np.nan
    write_array(_folder(w / "frames_nan") / "a.tif", with_nan)
    (_folder(w / "frames_txt") / "notes.txt").write_text("not a frame")
    write_array(w / "photo.jpg", np.zeros((8, 8), np.uint8))
    (_folder(w / "taken" / "masks") / "a.png").write_bytes(b"keep me")
    make_folder(w / "data_bad", n=3)
    (w / "data_bad" / "masks" / "f2.png").unlink()
    shutil.copy(tiny_cv_run / "fold_0" / "metrics.json", _folder(w / "finished"))
    return w


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


Fill = Callable[[str, str], str]


@pytest.fixture(scope="module")
def fill(workspace: Path, tiny_cv_run: Path, cache_dir: Path) -> Fill:
    """Fill a case template for the case of that name."""
    checkpoint = tiny_cv_run / "fold_0" / "checkpoints" / "best.ckpt"

    def _fill(template: str, name: str) -> str:
        slug = re.sub(r"\W+", "_", name)
        return template.format(w=workspace, ckpt=checkpoint, cache=cache_dir, case=slug)

    return _fill


@pytest.fixture(scope="module")
def outcomes(workspace: Path, fill: Fill) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case's call, and the full-traceback call, run in one batch."""
    calls = [
        (case.module, [fill(arg, name) for arg in case.args], {}) for name, case in CASES.items()
    ]
    module, args, _ = calls[list(CASES).index(FULL_ERROR_CASE)]
    calls.append((module, args, {"HYDRA_FULL_ERROR": "1"}))
    results = run_modules(calls, cwd=workspace)
    return {**dict(zip(CASES, results[:-1], strict=True)), "full error": results[-1]}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_stops_with_one_line_naming_the_file_or_key(outcomes, fill, name):
    case, result = CASES[name], outcomes[name]
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    where, problem = fill(case.where, name), fill(case.problem, name)
    assert any(where in line and problem in line for line in output.splitlines()), output[-3000:]
    if not case.by_hydra:
        # Ours is logged to stdout as the last line: a message spanning lines would end later.
        last = [line for line in result.stdout.splitlines() if line.strip()][-1]
        assert where in last and problem in last, result.stdout[-3000:]
    for template in case.absent:
        assert not Path(fill(template, name)).exists(), template


def test_refused_calls_leave_existing_results_alone(outcomes, workspace, tiny_cv_run):
    assert (workspace / "taken" / "masks" / "a.png").read_bytes() == b"keep me"
    finished = workspace / "finished"
    original = (tiny_cv_run / "fold_0" / "metrics.json").read_bytes()
    assert (finished / "metrics.json").read_bytes() == original
    assert not (finished / "checkpoints").exists() and not (finished / "split.json").exists()


def test_hydra_full_error_shows_the_traceback(outcomes):
    result = outcomes["full error"]
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Traceback" in output and "lus_unet.errors.WeightsError" in output


def test_a_batched_call_behaves_like_its_own_process(outcomes, workspace):
    garbage = workspace / "garbage.ckpt"
    alone = run_module(EVALUATE, f"checkpoint={garbage}", cwd=workspace)
    batched = outcomes[FULL_ERROR_CASE]

    def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
        return [
            line for line in (result.stdout + result.stderr).splitlines() if str(garbage) in line
        ]

    assert alone.returncode == batched.returncode == 1
    assert error_lines(alone) == error_lines(batched) != []
