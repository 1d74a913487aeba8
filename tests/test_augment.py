"""Training augmentation: one geometry for frame and mask, binary masks, reproducible draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from folders import make_folder

from lus_unet.data.augment import AUGMENTATIONS, build_augmentation
from lus_unet.data.dataset import SegmentationDataset
from lus_unet.data.lus_datamodule import LUSDataModule

SIZE = 64


def off_centre_ellipse() -> np.ndarray:
    """A uint8 {0, 1} ellipse left of centre, so that a flip moves it."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    return ((((yy - 30) / 14) ** 2 + ((xx - 20) / 10) ** 2) <= 1).astype(np.uint8)


def augmented(name: str, seed: int, image: np.ndarray, mask: np.ndarray):
    transform = build_augmentation(name)
    transform.set_random_seed(seed)
    out = transform(image=image, mask=mask)
    return out["image"], out["mask"]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / np.logical_or(a, b).sum())


@pytest.mark.parametrize("name", ["keras", "strong"])
def test_frame_and_mask_get_the_same_geometry_and_masks_stay_binary(name):
    mask = off_centre_ellipse()
    image = mask.astype(np.float32)  # the frame *is* its mask, as a float image
    moved = 0
    for seed in range(20):
        out_image, out_mask = augmented(name, seed, image, mask)
        assert out_mask.dtype == np.uint8 and set(np.unique(out_mask)) <= {0, 1}
        # Bilinear frame vs nearest-neighbour mask: they may differ only along the border.
        assert iou(out_image > 0.5, out_mask == 1) > 0.95, seed
        moved += iou(out_mask, mask) < 0.9
    assert moved >= 5  # the geometry really changes, so the comparison above means something


def test_keras_flips_about_half_of_the_draws():
    mask = off_centre_ellipse()
    left = 0
    for seed in range(40):
        _, out = augmented("keras", seed, mask.astype(np.float32), mask)
        left += np.nonzero(out)[1].mean() < SIZE / 2
    assert 8 <= left <= 32  # both orientations occur


def test_hflip_only_mirrors_frame_and_mask_about_half_of_the_draws():
    mask = off_centre_ellipse()
    image = np.random.default_rng(0).random((SIZE, SIZE), dtype=np.float32)
    flipped = 0
    for seed in range(40):
        out_image, out_mask = augmented("hflip", seed, image, mask)
        is_flipped = not np.array_equal(out_mask, mask)
        # Exactly the input or exactly its mirror, frame and mask alike: nothing else changes.
        expected_image, expected_mask = (
            (image[:, ::-1], mask[:, ::-1]) if is_flipped else (image, mask)
        )
        assert np.array_equal(out_image, expected_image) and np.array_equal(out_mask, expected_mask)
        flipped += is_flipped
    assert 8 <= flipped <= 32


def test_unknown_augmentation_is_refused():
    # From a config, the schema refuses it first, naming data.augment (test_config_schema.py).
    assert AUGMENTATIONS == ("none", "keras", "strong", "hflip")
    assert build_augmentation("none") is None
    with pytest.raises(ValueError, match="unknown augmentation 'bogus'"):
        build_augmentation("bogus")


@pytest.fixture(scope="module")
def datamodule(tmp_path_factory) -> LUSDataModule:
    root = tmp_path_factory.mktemp("frames")
    make_folder(root, n=8, size=(32, 32))
    dm = LUSDataModule(
        root=str(root),
        cache=False,
        image_size=[32, 32],
        batch_size=4,
        hflip_copies=True,
        augment="keras",
        preprocess={"despeckle": False},
    )
    dm.prepare_data()
    dm.setup("fit")
    return dm


def stacked(loader) -> tuple[torch.Tensor, torch.Tensor]:
    batches = list(loader)
    return torch.cat([b["image"] for b in batches]), torch.cat([b["mask"] for b in batches])


def test_validation_loader_is_deterministic_and_unaugmented(datamodule):
    images, masks = stacked(datamodule.val_dataloader())
    again_images, again_masks = stacked(datamodule.val_dataloader())
    assert torch.equal(images, again_images) and torch.equal(masks, again_masks)
    # In split order, each sample is its frame (mirrored for a flip copy), untouched.
    samples = datamodule.samples
    for k, index in enumerate(datamodule.split.val):
        frame = datamodule.frames.images[samples.frame_index[index]]
        expected = frame[:, ::-1] if samples.flipped[index] else frame
        assert torch.equal(images[k, 0], torch.from_numpy(expected.copy()))


def test_training_augmentation_is_reproducible_per_seed_and_varies(datamodule):
    torch.manual_seed(0)
    first = stacked(datamodule.train_dataloader())
    torch.manual_seed(0)
    same = stacked(datamodule.train_dataloader())
    torch.manual_seed(1)
    other = stacked(datamodule.train_dataloader())
    assert torch.equal(first[0], same[0]) and torch.equal(first[1], same[1])
    assert not torch.equal(first[0], other[0])
    # Without reseeding, the next epoch draws new transforms for the same sample.
    dataset: SegmentationDataset = datamodule.train_dataloader().dataset
    torch.manual_seed(0)
    epoch_1, epoch_2 = dataset[0]["image"], dataset[0]["image"]
    torch.manual_seed(0)
    assert torch.equal(dataset[0]["image"], epoch_1)
    assert not torch.equal(epoch_1, epoch_2)
    assert set(torch.unique(first[1]).tolist()) <= {0.0, 1.0}
