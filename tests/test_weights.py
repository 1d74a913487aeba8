"""V-UNet's ImageNet weights: resolution order, strict loading, clear errors, safe unpickling."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from torchvision.models import vgg16

from lus_unet.errors import WeightsError
from lus_unet.models import build_model
from lus_unet.models.weights import VGG16_FILENAME, resolve_vgg16_weights


@pytest.fixture(scope="module")
def fake_vgg16_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file in torchvision's VGG16 state-dict format, with random (seeded) values."""
    torch.manual_seed(123)
    path = tmp_path_factory.mktemp("weights") / VGG16_FILENAME
    torch.save(vgg16(weights=None).state_dict(), path)
    return path


def test_weights_file_loads_into_the_encoder(fake_vgg16_file: Path) -> None:
    state = torch.load(fake_vgg16_file, weights_only=True)
    model = build_model("vunet", encoder_weights=str(fake_vgg16_file))
    for index in (0, 2, 28):
        assert torch.equal(model.encoder.features[index].weight, state[f"features.{index}.weight"])
        assert torch.equal(model.encoder.features[index].bias, state[f"features.{index}.bias"])


def test_imagenet_comes_from_torchvision_cache(
    fake_vgg16_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = tmp_path / "hub" / "checkpoints" / VGG16_FILENAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(fake_vgg16_file.read_bytes())
    assert resolve_vgg16_weights("imagenet", allow_download=False) == cached


def test_missing_imagenet_file_with_downloads_off_says_what_to_put_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsError) as info:
        build_model("vunet", encoder_weights="imagenet", allow_download=False)
    message = str(info.value)
    assert VGG16_FILENAME in message
    assert "https://download.pytorch.org/models/" in message
    assert str(tmp_path / "hub" / "checkpoints") in message


def test_missing_user_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="no such file"):
        build_model("vunet", encoder_weights=str(tmp_path / "nope.pth"))


def test_wrong_shapes_are_named(tmp_path: Path) -> None:
    state = vgg16(weights=None).state_dict()
    state["features.0.weight"] = torch.zeros(32, 3, 3, 3)
    path = tmp_path / "wrong.pth"
    torch.save(state, path)
    with pytest.raises(
        WeightsError, match=r"features\.0\.weight \(32, 3, 3, 3\) != \(64, 3, 3, 3\)"
    ):
        build_model("vunet", encoder_weights=str(path))


def test_missing_keys_are_named(tmp_path: Path) -> None:
    state = vgg16(weights=None).state_dict()
    del state["features.28.bias"]
    path = tmp_path / "partial.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"missing keys features\.28\.bias"):
        build_model("vunet", encoder_weights=str(path))


class _Payload:
    """Unpickling this runs code: it would create a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_payload_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    with open(path, "wb") as handle:
        torch.save({"features.0.weight": _Payload(marker)}, handle, pickle_module=pickle)
    with pytest.raises(WeightsError, match="refused to load"):
        build_model("vunet", encoder_weights=str(path))
    assert not marker.exists()
