"""V-UNet's ImageNet weights: resolution order, strict loading, clear errors, safe unpickling."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from torchvision.models import VGG16_BN_Weights, VGG16_Weights, vgg16, vgg16_bn

from lus_unet.errors import WeightsError
from lus_unet.models import build_model
from lus_unet.models.weights import (
    ENCODER_WEIGHTS,
    VGG16_FILENAME,
    resolve_encoder_weights,
)

VGG16_BN_FILENAME = "vgg16_bn-6c64b313.pth"
FACTORIES = {"vgg16": vgg16, "vgg16_bn": vgg16_bn}


@pytest.fixture(scope="module")
def torchvision_states() -> dict[str, dict[str, torch.Tensor]]:
    """torchvision's VGG16 and VGG16-BN state dicts with random (seeded) values, batch-norm
    buffers included, each built once. The fake files keep the trunk (every ``features.N.*``
    key, as in torchvision's files) and one classifier tensor (which the loader must ignore):
    the full 528 MB would only slow the tests down."""
    torch.manual_seed(123)
    states = {}
    for name, factory in FACTORIES.items():
        full = factory(weights=None).state_dict()
        state = {k: v for k, v in full.items() if k.startswith("features.")}
        state["classifier.6.bias"] = full["classifier.6.bias"]
        for key, value in state.items():  # running stats differ from their defaults
            if key.endswith("running_mean"):
                state[key] = torch.randn_like(value)
            elif key.endswith("running_var"):
                state[key] = torch.rand_like(value) + 0.5
            elif key.endswith("num_batches_tracked"):
                state[key] = torch.tensor(7)
        states[name] = state
    return states


@pytest.fixture(scope="module")
def fake_weight_files(
    torchvision_states: dict[str, dict[str, torch.Tensor]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Files in torchvision's state-dict format per encoder (VGG16-BN with its BN buffers)."""
    folder = tmp_path_factory.mktemp("weights")
    files = {"vgg16": folder / VGG16_FILENAME, "vgg16_bn": folder / VGG16_BN_FILENAME}
    for encoder, path in files.items():
        torch.save(torchvision_states[encoder], path)
    return files


@pytest.fixture(scope="module")
def fake_vgg16_file(fake_weight_files: dict[str, Path]) -> Path:
    return fake_weight_files["vgg16"]


@pytest.fixture(scope="module")
def fake_vgg16_bn_file(fake_weight_files: dict[str, Path]) -> Path:
    return fake_weight_files["vgg16_bn"]


def test_weights_file_loads_into_the_encoder(fake_vgg16_file: Path) -> None:
    state = torch.load(fake_vgg16_file, weights_only=True)
    model = build_model("vunet", encoder_weights=str(fake_vgg16_file))
    for index in (0, 2, 28):
        assert torch.equal(model.encoder.features[index].weight, state[f"features.{index}.weight"])
        assert torch.equal(model.encoder.features[index].bias, state[f"features.{index}.bias"])


def test_vgg16_bn_weights_and_running_stats_load_into_the_encoder(
    fake_vgg16_bn_file: Path,
) -> None:
    state = torch.load(fake_vgg16_bn_file, weights_only=True)
    model = build_model(
        "vunet", encoder="vgg16_bn", encoder_weights=str(fake_vgg16_bn_file), norm="batch"
    )
    loaded = model.encoder.features.state_dict()
    trunk = {k: v for k, v in state.items() if k.startswith("features.")}
    assert len(loaded) == len(trunk) == 91  # 13 convs x 2 + 13 batch norms x 5
    for key, tensor in loaded.items():
        assert torch.equal(tensor, state[f"features.{key}"]), key
    bn = model.encoder.features[41]  # the batch norm of conv5_3
    assert isinstance(bn, torch.nn.BatchNorm2d)
    assert torch.equal(bn.running_mean, state["features.41.running_mean"])
    assert torch.equal(bn.running_var, state["features.41.running_var"])
    assert int(bn.num_batches_tracked) == 7


def test_vgg16_bn_file_without_batch_counters_loads(
    torchvision_states: dict[str, dict[str, torch.Tensor]], tmp_path: Path
) -> None:
    """torchvision's vgg16_bn file predates ``num_batches_tracked``: it must load anyway."""
    state = {
        k: v
        for k, v in torchvision_states["vgg16_bn"].items()
        if not k.endswith("num_batches_tracked")
    }
    path = tmp_path / VGG16_BN_FILENAME
    torch.save(state, path)
    model = build_model("vunet", encoder="vgg16_bn", encoder_weights=str(path))
    assert torch.equal(model.encoder.features[1].running_var, state["features.1.running_var"])


def test_encoder_weights_table_matches_torchvision() -> None:
    assert ENCODER_WEIGHTS["vgg16"].url == VGG16_Weights.IMAGENET1K_V1.url
    assert ENCODER_WEIGHTS["vgg16_bn"].url == VGG16_BN_Weights.IMAGENET1K_V1.url
    assert ENCODER_WEIGHTS["vgg16_bn"].filename == VGG16_BN_FILENAME


@pytest.mark.parametrize(
    ("encoder", "filename"), [("vgg16", VGG16_FILENAME), ("vgg16_bn", VGG16_BN_FILENAME)]
)
def test_imagenet_comes_from_torchvision_cache(
    encoder: str, filename: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = tmp_path / "hub" / "checkpoints" / filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not read here")
    assert resolve_encoder_weights("imagenet", allow_download=False, encoder=encoder) == cached


def test_vgg16_bn_imagenet_from_cache_builds(
    fake_vgg16_bn_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = tmp_path / "hub" / "checkpoints" / VGG16_BN_FILENAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(fake_vgg16_bn_file.read_bytes())
    model = build_model("vunet", encoder="vgg16_bn", allow_download=False)
    state = torch.load(cached, weights_only=True)
    assert torch.equal(model.encoder.features[4].running_mean, state["features.4.running_mean"])


@pytest.mark.parametrize(
    ("encoder", "filename", "other"),
    [("vgg16", VGG16_FILENAME, VGG16_BN_FILENAME), ("vgg16_bn", VGG16_BN_FILENAME, VGG16_FILENAME)],
)
def test_missing_imagenet_file_with_downloads_off_says_what_to_put_where(
    encoder: str, filename: str, other: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsError) as info:
        build_model("vunet", encoder=encoder, encoder_weights="imagenet", allow_download=False)
    message = str(info.value)
    assert "\n" not in message
    assert f"https://download.pytorch.org/models/{filename}" in message
    assert str(tmp_path / "hub" / "checkpoints" / filename) in message
    assert other not in message


def test_a_vgg16_file_for_the_vgg16_bn_encoder_names_the_right_file(
    fake_vgg16_file: Path,
) -> None:
    with pytest.raises(WeightsError) as info:
        build_model("vunet", encoder="vgg16_bn", encoder_weights=str(fake_vgg16_file))
    message = str(info.value)
    assert "\n" not in message
    assert "not a VGG16-BN state dict" in message
    assert f"model.encoder=vgg16_bn expects {VGG16_BN_FILENAME}" in message
    assert "more)" in message  # a long list of missing keys is cut short


def test_missing_user_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="no such file"):
        build_model("vunet", encoder_weights=str(tmp_path / "nope.pth"))


def test_wrong_shapes_are_named(
    torchvision_states: dict[str, dict[str, torch.Tensor]], tmp_path: Path
) -> None:
    state = dict(torchvision_states["vgg16"])
    state["features.0.weight"] = torch.zeros(32, 3, 3, 3)
    path = tmp_path / "wrong.pth"
    torch.save(state, path)
    with pytest.raises(
        WeightsError, match=r"features\.0\.weight \(32, 3, 3, 3\) != \(64, 3, 3, 3\)"
    ):
        build_model("vunet", encoder_weights=str(path))


def test_missing_keys_are_named(
    torchvision_states: dict[str, dict[str, torch.Tensor]], tmp_path: Path
) -> None:
    state = dict(torchvision_states["vgg16"])
    del state["features.28.bias"]
    path = tmp_path / "partial.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"missing keys features\.28\.bias"):
        build_model("vunet", encoder_weights=str(path))


def test_missing_running_stats_are_named(
    torchvision_states: dict[str, dict[str, torch.Tensor]], tmp_path: Path
) -> None:
    state = dict(torchvision_states["vgg16_bn"])
    del state["features.1.running_var"]
    path = tmp_path / "partial_bn.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"missing keys features\.1\.running_var$"):
        build_model("vunet", encoder="vgg16_bn", encoder_weights=str(path))


class _Payload:
    """Unpickling this runs code: it would create a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("encoder", ["vgg16", "vgg16_bn"])
def test_pickle_payload_is_refused_and_never_runs(encoder: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    with open(path, "wb") as handle:
        torch.save({"features.0.weight": _Payload(marker)}, handle, pickle_module=pickle)
    with pytest.raises(WeightsError, match="refused to load"):
        build_model("vunet", encoder=encoder, encoder_weights=str(path))
    assert not marker.exists()
