"""``lus_unet.predict``: original-size masks, ensembles, flip TTA, post-processing, no overwrite."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from conftest import compose_config, run_module
from PIL import Image
from scipy import ndimage

from lus_unet.data.preprocess import preprocess_frame, resize_image, resolve_kind
from lus_unet.data.synthetic import lus_frame
from lus_unet.errors import ConfigError, DataError
from lus_unet.evaluation.checkpoints import load_checkpoint
from lus_unet.evaluation.inference import Ensemble, binary_mask, largest_component
from lus_unet.predict import predict

FOLDS = ("fold_0", "fold_1")


def _predict(tmp_path: Path, checkpoint: object, frames: Path, *overrides: str) -> Path:
    out = tmp_path / "pred"
    cfg = compose_config(
        "predict",
        f"checkpoint={checkpoint}",
        f"input={frames}",
        f"output_dir={out}",
        *overrides,
    )
    predict(cfg)
    return out


@pytest.fixture
def mat_frame(tmp_path: Path) -> Path:
    """A raw 960x128 synthetic frame written as MATLAB v5, in a folder of its own."""
    folder = tmp_path / "frames"
    folder.mkdir()
    frame_id, frame, _ = lus_frame(seed=7, index=0)
    scipy.io.savemat(folder / f"{frame_id}.mat", {"frame": frame})
    return folder / f"{frame_id}.mat"


def _manual_probabilities(checkpoint: Path, frame_path: Path, flip: bool = False) -> np.ndarray:
    """sigmoid(net(x)) at the network's size, computed without the predict module."""
    loaded = load_checkpoint(checkpoint)
    frame = scipy.io.loadmat(frame_path)["frame"]
    cfg = loaded.preprocess
    x = preprocess_frame(frame, resolve_kind(cfg.kind, frame_path, frame.dtype), cfg)
    x = torch.from_numpy(x[:, ::-1].copy() if flip else x)[None, None].repeat(1, 3, 1, 1)
    with torch.no_grad():
        prob = torch.sigmoid(loaded.net(x))[0, 0].numpy()
    return prob[:, ::-1] if flip else prob


def test_round_trip_gives_a_binary_mask_and_overlay_at_the_original_size(
    tiny_cv_run, mat_frame, tmp_path
):
    out = _predict(tmp_path, tiny_cv_run / "fold_0", mat_frame, "probabilities=npy")
    mask = np.array(Image.open(out / "masks" / f"{mat_frame.stem}.png"))
    assert mask.shape == (960, 128) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255}
    overlay = np.array(Image.open(out / "overlays" / f"{mat_frame.stem}.png"))
    assert overlay.shape == (960, 128, 3)
    prob = np.load(out / "probabilities" / f"{mat_frame.stem}.npy")
    assert prob.shape == (960, 128) and prob.dtype == np.float32
    np.testing.assert_array_equal(mask == 255, prob > 0.5)
    # The probability map is the network's output resized to the frame (not re-thresholded).
    checkpoint = tiny_cv_run / "fold_0" / "checkpoints" / "best.ckpt"
    expected = resize_image(_manual_probabilities(checkpoint, mat_frame), (960, 128))
    np.testing.assert_allclose(prob, expected, atol=1e-6)


def test_a_cv_folder_is_an_ensemble_averaging_probabilities(tiny_cv_run, mat_frame, tmp_path):
    out = _predict(tmp_path, tiny_cv_run, mat_frame, "probabilities=npy")
    prob = np.load(out / "probabilities" / f"{mat_frame.stem}.npy")
    members = [
        _manual_probabilities(tiny_cv_run / f / "checkpoints" / "best.ckpt", mat_frame)
        for f in FOLDS
    ]
    assert np.abs(members[0] - members[1]).max() > 1e-4  # two different models
    expected = resize_image((members[0] + members[1]) / 2, (960, 128))
    np.testing.assert_allclose(prob, expected, atol=1e-6)


def test_flip_tta_averages_the_flipped_prediction(tiny_cv_run, mat_frame, tmp_path):
    out = _predict(tmp_path, tiny_cv_run / "fold_1", mat_frame, "probabilities=npy", "tta=true")
    prob = np.load(out / "probabilities" / f"{mat_frame.stem}.npy")
    checkpoint = tiny_cv_run / "fold_1" / "checkpoints" / "best.ckpt"
    plain = _manual_probabilities(checkpoint, mat_frame)
    flipped = _manual_probabilities(checkpoint, mat_frame, flip=True)
    assert np.abs(plain - flipped).max() > 1e-4  # the network is not mirror-symmetric
    expected = resize_image((plain + flipped) / 2, (960, 128))
    np.testing.assert_allclose(prob, expected, atol=1e-6)


def test_ensemble_weights_every_model_and_flip_equally():
    nets = [torch.nn.Conv2d(3, 1, 3, padding=1) for _ in range(2)]
    images = np.random.default_rng(0).random((2, 8, 8), dtype=np.float32)
    x = torch.from_numpy(images)[:, None].repeat(1, 3, 1, 1)
    with torch.no_grad():
        terms = [torch.sigmoid(n(x)) for n in nets]
        terms += [torch.sigmoid(n(x.flip(-1))).flip(-1) for n in nets]
    expected = (sum(terms) / 4)[:, 0].numpy()
    np.testing.assert_allclose(Ensemble(nets, tta=True)(images), expected, atol=1e-6)


def test_largest_component_removes_a_detached_blob():
    prob = np.zeros((20, 20), dtype=np.float32)
    prob[2:10, 2:12] = 0.9  # the rib
    prob[15:17, 15:17] = 0.8  # a detached false alarm
    mask = binary_mask(prob, 0.5, largest_only=True)
    assert ndimage.label(mask)[1] == 1
    np.testing.assert_array_equal(mask, prob == np.float32(0.9))
    assert binary_mask(prob, 0.5).sum() == 84  # without post-processing both stay
    assert not largest_component(np.zeros((4, 4), dtype=bool)).any()


def test_predict_applies_largest_component(tiny_cv_run, mat_frame, tmp_path):
    out = _predict(tmp_path, tiny_cv_run / "fold_0", mat_frame, "largest_component=true")
    mask = np.array(Image.open(out / "masks" / f"{mat_frame.stem}.png")) > 0
    assert ndimage.label(mask, structure=np.ones((3, 3)))[1] <= 1


def test_cine_stacks_give_one_output_per_frame(tiny_cv_run, tmp_path):
    folder = tmp_path / "cine"
    folder.mkdir()
    stack = np.stack([lus_frame(seed=1, index=k)[1] for k in range(3)], axis=-1)
    scipy.io.savemat(folder / "clip.mat", {"frames": stack})
    out = _predict(tmp_path, tiny_cv_run / "fold_0", folder, "overlays=false")
    assert sorted(p.name for p in (out / "masks").iterdir()) == [
        "clip_f0.png",
        "clip_f1.png",
        "clip_f2.png",
    ]
    assert not (out / "overlays").exists()


def test_refuses_to_overwrite_existing_outputs_before_any_work(tiny_cv_run, mat_frame, tmp_path):
    existing = tmp_path / "pred" / "overlays" / f"{mat_frame.stem}.png"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"keep me")
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        _predict(tmp_path, tiny_cv_run / "fold_0", mat_frame)
    assert existing.read_bytes() == b"keep me"
    assert not (tmp_path / "pred" / "masks").exists()


def test_bad_inputs_stop_with_one_line(tiny_cv_run, mat_frame, tmp_path):
    (mat_frame.parent / "notes.txt").write_text("not a frame")
    with pytest.raises(DataError, match="unexpected file type"):
        _predict(tmp_path, tiny_cv_run / "fold_0", mat_frame.parent)
    with pytest.raises(ConfigError, match=r"input=.* is required"):
        _predict(tmp_path, tiny_cv_run / "fold_0", "null")
    with pytest.raises(ConfigError, match=r"^threshold=1\.5: must be between 0 and 1"):
        _predict(tmp_path, tiny_cv_run / "fold_0", mat_frame, "threshold=1.5")


def test_cli_writes_under_outputs_predict_by_default(tiny_cv_run, mat_frame, tmp_path):
    result = run_module(
        "lus_unet.predict",
        f"checkpoint={tiny_cv_run / 'fold_0'}",
        f"input={mat_frame}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (tmp_path / "outputs" / "predict").iterdir()
    assert (run / "masks" / f"{mat_frame.stem}.png").is_file()
    assert not list(tmp_path.glob("*.log"))  # Hydra writes no log file into the cwd


def test_cli_errors_are_one_line(tmp_path):
    result = run_module("lus_unet.evaluate", f"checkpoint={tmp_path / 'missing'}", cwd=tmp_path)
    assert result.returncode == 1
    assert "does not exist" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
