"""A partly finished cross-validation folder is no ensemble: predict and evaluate refuse it.

The folder is the one a ``+fold=0..2`` run killed during fold 1 leaves: ``fold_0`` finished,
``fold_1`` with the checkpoints of the epochs it reached but no ``metrics.json``, no
``fold_2``, and Hydra's record of the command (``.hydra/``). Both commands refuse it, naming
the folds and the two ways out; ``allow_partial=true`` uses the finished folds only, with a
warning. Through the real CLIs, batched in one interpreter (:func:`conftest.run_modules`).
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from conftest import compose_config, run_modules, tiny_overrides
from omegaconf import OmegaConf

from lus_unet.data.synthetic import lus_frame
from lus_unet.evaluation.finished_folds import HYDRA_CONFIG, HYDRA_OVERRIDES, fold_state
from lus_unet.run_folder import RunFolder

EVALUATE, PREDICT = "lus_unet.evaluate", "lus_unet.predict"
RANGE = ["+fold=0..2", *tiny_overrides()]  # the command that made the folder
PROBLEMS = "fold_1 unfinished (no metrics.json); fold_2 missing"


def killed_during_fold_1(finished_cv: Path, folder: Path) -> Path:
    """``folder`` as a ``+fold=0..2`` run killed during fold 1 leaves it.

    Args:
        finished_cv: a finished two-fold run whose folds are copied.
        folder: where to write the killed run.
    """
    shutil.copytree(finished_cv / "fold_0", folder / "fold_0")
    shutil.copytree(finished_cv / "fold_1", folder / "fold_1")
    (folder / "fold_1" / "metrics.json").unlink()
    # What Hydra records in the run folder: the composed config (unresolved) and the overrides.
    (folder / HYDRA_CONFIG).parent.mkdir()
    OmegaConf.save(compose_config("train", *RANGE), folder / HYDRA_CONFIG)
    OmegaConf.save(OmegaConf.create(RANGE), folder / HYDRA_OVERRIDES)
    return folder


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, tiny_cv_run: Path) -> Path:
    """The killed run, one with no finished fold, and a frame to predict."""
    w = tmp_path_factory.mktemp("partial_cv")
    killed_during_fold_1(tiny_cv_run, w / "killed")
    killed_during_fold_1(tiny_cv_run, w / "none_finished")
    (w / "none_finished" / "fold_0" / "metrics.json").unlink()
    _, frame, _ = lus_frame(seed=7, index=0)
    (w / "frames").mkdir()
    scipy.io.savemat(w / "frames" / "a.mat", {"frame": frame})
    return w


CALLS = {
    "predict refused": (PREDICT, ["checkpoint={w}/killed", "output_dir={w}/p_refused"]),
    "evaluate refused": (EVALUATE, ["checkpoint={w}/killed", "output_dir={w}/e_refused"]),
    "predict partial": (
        PREDICT,
        ["checkpoint={w}/killed", "output_dir={w}/p_partial", "allow_partial=true"],
    ),
    "predict fold 0": (PREDICT, ["checkpoint={w}/killed/fold_0", "output_dir={w}/p_fold0"]),
    "evaluate partial": (
        EVALUATE,
        ["checkpoint={w}/killed", "output_dir={w}/e_partial", "allow_partial=true"],
    ),
    "nothing finished": (
        PREDICT,
        ["checkpoint={w}/none_finished", "output_dir={w}/p_none", "allow_partial=true"],
    ),
}


@pytest.fixture(scope="module")
def outcomes(workspace: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every call's result, by name."""
    predict_args = [f"input={workspace / 'frames'}", "probabilities=npy"]
    calls = [
        (
            module,
            [a.format(w=workspace) for a in args] + (predict_args if module == PREDICT else []),
            {},
        )
        for module, args in CALLS.values()
    ]
    return dict(zip(CALLS, run_modules(calls, cwd=workspace), strict=True))


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    return [line for line in result.stdout.splitlines() if line.strip()][-1]


@pytest.mark.parametrize("name", ["predict refused", "evaluate refused"])
def test_a_partial_cv_folder_is_refused_naming_the_folds_and_the_ways_out(
    outcomes, workspace, name
):
    result = outcomes[name]
    assert result.returncode == 1, result.stdout[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    line = _last_line(result)
    killed = workspace / "killed"
    assert f"checkpoint: {killed} is a partial cross-validation run ({PROBLEMS})" in line
    # The two ways out: the recorded command resumed in that folder, or allow_partial=true.
    command = shlex.join(
        ["python", "-m", "lus_unet.train", *RANGE, f"hydra.run.dir={killed}", "resume=true"]
    )
    assert f"finish them with `{command}`" in line
    assert "or pass allow_partial=true to use only the finished fold_0" in line
    assert not (workspace / f"{name[0]}_refused").exists()  # p_refused, e_refused: not made


def test_allow_partial_predicts_with_the_finished_folds_only(outcomes, workspace):
    result = outcomes["predict partial"]
    assert result.returncode == 0, result.stdout[-3000:]
    warning = f"allow_partial=true: using only the finished fold_0 of {workspace / 'killed'}"
    assert f"{warning} ({PROBLEMS})" in result.stdout
    assert outcomes["predict fold 0"].returncode == 0
    alone = np.load(workspace / "p_fold0" / "probabilities" / "a.npy")
    partial = np.load(workspace / "p_partial" / "probabilities" / "a.npy")
    np.testing.assert_array_equal(partial, alone)  # fold_1's unfinished model is not in it


def test_allow_partial_evaluates_the_finished_folds_only(outcomes, workspace):
    result = outcomes["evaluate partial"]
    assert result.returncode == 0, result.stdout[-3000:]
    assert "allow_partial=true: using only the finished fold_0" in result.stdout
    summary = json.loads((workspace / "e_partial" / "summary.json").read_text())
    assert summary["checkpoints"] == [str(RunFolder(workspace / "killed").fold(0).best_checkpoint)]


def test_a_folder_without_a_finished_fold_is_refused_even_with_allow_partial(outcomes, workspace):
    result = outcomes["nothing finished"]
    assert result.returncode == 1
    line = _last_line(result)
    folder = workspace / "none_finished"
    assert f"{folder} holds no finished fold (fold_0, fold_1 unfinished" in line
    assert "resume=true" in line


def test_expected_folds_come_from_the_summary_the_record_and_the_folders(tmp_path, tiny_cv_run):
    cv = tmp_path / "cv"
    shutil.copytree(tiny_cv_run, cv)
    state = fold_state(RunFolder(cv))
    assert state.expected == state.finished == [0, 1] and state.complete
    shutil.rmtree(cv / "fold_1")  # cv_summary.json still lists it
    assert fold_state(RunFolder(cv)).missing == [1]
    (cv / "fold_0" / "checkpoints" / "best.ckpt").unlink()
    assert fold_state(RunFolder(cv)).without_checkpoint == [0]
    assert fold_state(RunFolder(tmp_path / "empty")).expected == []  # no CV folder
