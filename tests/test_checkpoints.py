"""Checkpoint arguments and safe loading (weights_only) of training checkpoints."""

from __future__ import annotations

import shutil

import pytest
import torch

from lus_unet.errors import ConfigError, WeightsError
from lus_unet.evaluation.checkpoints import (
    load_checkpoint,
    load_checkpoints,
    resolve_checkpoints,
    run_dir_of,
)


class _Payload:
    """Unpickling this creates a file: proof that pickled code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_resolves_a_file_a_run_folder_and_a_cv_folder_in_fold_order(tiny_cv_run, tmp_path):
    fold0 = tiny_cv_run / "fold_0" / "checkpoints" / "best.ckpt"
    assert resolve_checkpoints(str(fold0)) == [fold0]
    assert resolve_checkpoints(tiny_cv_run / "fold_0") == [fold0]
    cv = tmp_path / "cv"
    for k in (10, 2):  # numeric fold order, not text order
        (cv / f"fold_{k}" / "checkpoints").mkdir(parents=True)
        shutil.copy(fold0, cv / f"fold_{k}" / "checkpoints" / "best.ckpt")
        shutil.copy(tiny_cv_run / "fold_0" / "metrics.json", cv / f"fold_{k}")  # finished
    assert resolve_checkpoints([cv]) == [
        cv / f"fold_{k}" / "checkpoints" / "best.ckpt" for k in (2, 10)
    ]
    assert run_dir_of(fold0) == tiny_cv_run / "fold_0"


def test_a_folder_without_checkpoints_names_what_was_expected(tmp_path):
    with pytest.raises(ConfigError, match=r"checkpoints/best\.ckpt.*fold_<k>"):
        resolve_checkpoints(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_checkpoints(tmp_path / "nothing")
    (tmp_path / "weights.pth").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"not a \.ckpt file"):
        resolve_checkpoints(tmp_path / "weights.pth")


def test_loads_the_network_strictly_with_the_checkpoint_weights(tiny_cv_run):
    path = tiny_cv_run / "fold_1" / "checkpoints" / "best.ckpt"
    raw = torch.load(path, map_location="cpu", weights_only=True)
    loaded = load_checkpoint(path)
    assert not loaded.net.training
    assert loaded.run_config["fold"] == 1
    assert loaded.preprocess.image_size == (32, 32)
    state = loaded.net.state_dict()
    assert state.keys() == {k.removeprefix("net.") for k in raw["state_dict"]}
    for key, tensor in raw["state_dict"].items():
        assert torch.equal(state[key.removeprefix("net.")], tensor)


def test_refuses_a_pickle_payload_without_running_it(tmp_path):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": _Payload(str(marker))}, path)
    with pytest.raises(WeightsError, match="refused to load"):
        load_checkpoint(path)
    assert not marker.exists()


def test_refuses_foreign_or_mismatched_checkpoints(tiny_cv_run, tmp_path):
    plain = tmp_path / "plain.ckpt"
    torch.save({"weight": torch.zeros(1)}, plain)
    with pytest.raises(WeightsError, match="not a lus_unet training checkpoint"):
        load_checkpoint(plain)
    checkpoint = torch.load(
        tiny_cv_run / "fold_0" / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True
    )
    checkpoint["hyper_parameters"]["run_config"]["model"]["base_channels"] = 8
    wider = tmp_path / "wider.ckpt"
    torch.save(checkpoint, wider)
    with pytest.raises(WeightsError, match="weights do not match xunet"):
        load_checkpoint(wider)


def test_an_ensemble_needs_identical_preprocessing(tiny_cv_run, tmp_path):
    fold0 = tiny_cv_run / "fold_0" / "checkpoints" / "best.ckpt"
    checkpoint = torch.load(fold0, map_location="cpu", weights_only=True)
    checkpoint["hyper_parameters"]["run_config"]["data"]["preprocess"]["dynamic_range_db"] = 50.0
    other = tmp_path / "other.ckpt"
    torch.save(checkpoint, other)
    with pytest.raises(ConfigError, match="different preprocessing"):
        load_checkpoints([fold0, other], "cpu")
