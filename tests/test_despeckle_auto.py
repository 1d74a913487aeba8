"""despeckle=auto: raw linear-envelope frames are despeckled, 8-bit display exports are not.

Made with real files in the formats a user has: a MAT frame of float envelope values, and 8-bit
PNG and TIFF exports (already log-compressed, and despeckled when they were made).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import compose_config, run_module
from folders import write_array

from lus_unet.data.preprocess import PreprocessConfig, despeckles, preprocess_frame
from lus_unet.data.spec import LUSSpec
from lus_unet.errors import ConfigError

SIZE = (32, 32)


def envelope(seed: int) -> np.ndarray:
    """A float64 linear envelope: Rayleigh speckle over a bright band, 96 (depth) x 32."""
    rng = np.random.default_rng(seed)
    tissue = np.ones((96, 32))
    tissue[40:50] = 30.0
    return tissue * rng.rayleigh(size=tissue.shape)


def display(seed: int) -> np.ndarray:
    """An 8-bit display export: speckled texture, as a scanner or a paper's authors save it."""
    return np.random.default_rng(seed).integers(30, 220, size=(64, 32)).astype(np.uint8)


@pytest.fixture
def mixed_folder(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """A folder of one MAT float frame, one 8-bit PNG and one 8-bit TIFF, with masks."""
    root = tmp_path / "data"
    raw = {"raw": envelope(0), "png": display(1), "tif": display(2)}
    write_array(root / "images" / "raw.mat", raw["raw"])
    write_array(root / "images" / "png.png", raw["png"])
    write_array(root / "images" / "tif.tif", raw["tif"])
    for name, image in raw.items():
        mask = np.zeros(image.shape, np.uint8)
        mask[image.shape[0] // 2 :, :8] = 255
        write_array(root / "masks" / f"{name}.png", mask)
    return root, raw


def loaded(root: Path, despeckle: bool | str) -> dict[str, tuple[str, np.ndarray]]:
    """Each frame's kind and network input, as training reads the folder."""
    spec = LUSSpec(
        root=str(root), cache=False, image_size=SIZE, preprocess={"despeckle": despeckle}
    )
    frames = spec.load()
    return {
        i: (k, frames.images[n])
        for n, (i, k) in enumerate(zip(frames.ids, frames.kinds, strict=True))
    }


def expected(raw: np.ndarray, kind: str, despeckled: bool) -> np.ndarray:
    return preprocess_frame(raw, kind, PreprocessConfig(image_size=SIZE, despeckle=despeckled))


@pytest.mark.parametrize(
    ("setting", "raw_despeckled", "exports_despeckled"),
    [("auto", True, False), (True, True, True), (False, False, False)],
)
def test_which_frames_are_despeckled(mixed_folder, setting, raw_despeckled, exports_despeckled):
    root, raw = mixed_folder
    frames = loaded(root, setting)
    assert {i: kind for i, (kind, _) in frames.items()} == {
        "raw": "linear",
        "png": "log",
        "tif": "log",
    }
    for frame_id, despeckled in (
        ("raw", raw_despeckled),
        ("png", exports_despeckled),
        ("tif", exports_despeckled),
    ):
        kind, image = frames[frame_id]
        np.testing.assert_allclose(image, expected(raw[frame_id], kind, despeckled), atol=1e-6)
        # ... and not the other way: despeckling does change these frames.
        assert np.abs(image - expected(raw[frame_id], kind, not despeckled)).max() > 1e-3


def test_an_8_bit_export_under_auto_is_only_scaled_and_resized(mixed_folder):
    root, raw = mixed_folder
    frames = loaded(root, "auto")
    plain = PreprocessConfig(image_size=SIZE, despeckle=False)
    np.testing.assert_allclose(frames["png"][1], preprocess_frame(raw["png"], "log", plain))


def test_despeckles_rule_and_its_values():
    assert despeckles("auto", "linear") and not despeckles("auto", "log")
    assert despeckles(True, "log") and not despeckles(False, "linear")
    assert PreprocessConfig().despeckle == "auto"
    assert PreprocessConfig(despeckle=np.bool_(True)).despeckle is True
    with pytest.raises(
        ConfigError, match=r"^data\.preprocess\.despeckle=yes: unknown value; valid"
    ):
        PreprocessConfig(despeckle="yes")


def test_recipes_choose_the_despeckling_and_an_override_forces_it():
    def despeckle(*overrides: str) -> bool | str:
        return compose_config("train", "paths.output_dir=out", *overrides).data.preprocess.despeckle

    assert despeckle() == "auto" and despeckle("recipe=paper") == "auto"
    assert despeckle("recipe=modern") is False
    assert despeckle("model=reference", "recipe=reference") is False
    assert despeckle("recipe=paper", "data.preprocess.despeckle=true") is True
    assert despeckle("recipe=modern", "data.preprocess.despeckle=auto") == "auto"
    # Without a recipe (the data checker), auto as well.
    assert compose_config("check").data.preprocess.despeckle == "auto"


def test_the_checker_says_which_frames_are_despeckled(mixed_folder, tmp_path):
    root, _ = mixed_folder
    result = run_module("lus_unet.check", f"data.root={root}", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {
        key: value.strip()
        for key, value in (
            line.split(None, 1) for line in result.stdout.splitlines() if "  " in line
        )
    }
    assert rows["despeckled"] in ("no (2), yes (1)", "yes (1), no (2)")
    assert "despeckle=auto" in rows["preprocessing"]
