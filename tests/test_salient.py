"""Salient-object pre-training data: XPIE-style folders, grayscale scaling, splits, training."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import TINY_DATA, tiny_overrides
from folders import blob_pair, make_folder, write_array
from PIL import Image

from lus_unet.data.io import to_grayscale
from lus_unet.data.salient_datamodule import SalientDataModule
from lus_unet.errors import DataError
from lus_unet.train import train


def xpie_like(root, n: int = 6, size: int = 32) -> list[str]:
    """``Images/*.jpg`` (colour) with ``Grounds/*.png`` (0/255), as the authors used XPIE."""
    ids = [f"Y_E_{k + 1}" for k in range(n)]
    for k, name in enumerate(ids):
        grey, mask = blob_pair((size, size), k)
        rgb = np.stack([grey, np.roll(grey, 3, axis=1), grey // 2], axis=-1)
        write_array(root / "Images" / f"{name}.jpg", rgb)
        write_array(root / "Grounds" / f"{name}.png", mask * np.uint8(255))
    return ids


def test_xpie_folder_names_jpeg_and_grayscale_scaling(tmp_path):
    ids = xpie_like(tmp_path)
    dm = SalientDataModule(
        root=str(tmp_path), cache=False, image_dir="Images", mask_dir="Grounds", image_size=[32, 32]
    )
    dm.prepare_data()
    dm.setup("fit")
    frames = dm.frames
    assert sorted(frames.ids) == sorted(ids) and frames.images.shape == (6, 32, 32)
    k = frames.ids.index("Y_E_2")
    decoded = np.asarray(Image.open(tmp_path / "Images/Y_E_2.jpg"))
    expected = to_grayscale(decoded).astype(np.float32) / 255  # 8-bit / 255, no despeckling
    np.testing.assert_allclose(frames.images[k], expected, atol=1e-6)
    assert set(np.unique(frames.masks)) == {0, 1}
    assert dm.spec.preprocess.kind == "log" and not dm.spec.preprocess.despeckle
    assert dm.spec.batch_size == 30  # the authors' XPIE batch


def test_default_folders_are_images_and_masks(tmp_path):
    make_folder(tmp_path, n=4, size=(32, 32))
    dm = SalientDataModule(root=str(tmp_path), cache=False, image_size=[32, 32])
    dm.setup("fit")
    assert len(dm.frames) == 4
    xpie_like(tmp_path / "xpie", n=2)
    with pytest.raises(DataError, match="images: folder does not exist"):
        SalientDataModule(root=str(tmp_path / "xpie"), cache=False, image_size=[32, 32]).setup()


def test_holdout_without_fold_and_grouped_kfold_with_one(tmp_path):
    make_folder(tmp_path, n=10, size=(32, 32))
    options = {"root": str(tmp_path), "cache_dir": str(tmp_path / "cache"), "image_size": [32, 32]}
    holdout = SalientDataModule(**options, val_fraction=0.3)
    holdout.setup()
    assert len(holdout.split.val) == 3 and holdout.split_info()["fold"] is None
    val_ids = []
    for fold in range(5):
        dm = SalientDataModule(**options, fold=fold, n_folds=5)
        dm.setup()
        info = dm.split_info()
        assert info["dataset"] == "salient" and info["fold"] == fold
        assert not set(info["train"]) & set(info["val"])
        val_ids += info["val"]
    assert sorted(val_ids) == sorted(f"f{k}" for k in range(10))  # the folds partition the set


def test_synthetic_default(tmp_path):
    # Unknown keys are the config schema's (test_config_schema.py).
    dm = SalientDataModule(cache_dir=str(tmp_path), synthetic={"n_images": 5, "seed": 3})
    assert dm.data_root == tmp_path / "synthetic" / "salient-v1-n5-seed3"


def test_fast_dev_run_on_salient_data(compose_train, tmp_path):
    overrides = [o for o in tiny_overrides("xunet") if o not in TINY_DATA]
    data = [o for o in TINY_DATA if not o.startswith("data.")]
    cfg = compose_train(
        *overrides,
        *data,
        "data=salient",  # with its own default size: every image once, no flips
        "data.image_size=[32,32]",
        "data.batch_size=4",
        "data.num_workers=0",
        "data.synthetic.n_images=8",
        "+trainer.fast_dev_run=true",
    )
    metrics = train(cfg)
    assert metrics["n_train"] + metrics["n_val"] == 8
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    assert split["dataset"] == "salient" and split["data_root"].endswith("salient-v1-n8-seed0")
