"""A map-style dataset over in-memory frames, with derived horizontal-flip copies."""

from __future__ import annotations

import albumentations as A
import numpy as np
import torch
from torch.utils.data import Dataset

from lus_unet.data.network_input import as_network_input


class SegmentationDataset(Dataset):
    """Frames and masks as ``{"image": (3, H, W), "mask": (1, H, W)}`` float tensors.

    The image is the networks' input (:func:`as_network_input`: the grayscale frame repeated
    to three channels, pixel values in [0, 1]).

    Args:
        images: (N, H, W) float32 frames in [0, 1].
        masks: (N, H, W) uint8 masks in {0, 1}.
        indices: which frames this dataset serves.
        flipped: for each entry of ``indices``, whether to serve its horizontal flip.
        transform: albumentations pipeline (training only), or None.
    """

    def __init__(
        self,
        images: np.ndarray,
        masks: np.ndarray,
        indices: np.ndarray,
        flipped: np.ndarray,
        transform: A.Compose | None = None,
    ) -> None:
        self.images = images
        self.masks = masks
        self.indices = np.asarray(indices)
        self.flipped = np.asarray(flipped, dtype=bool)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> dict[str, torch.Tensor]:
        index = self.indices[item]
        image, mask = self.images[index], self.masks[index]
        if self.flipped[item]:
            image, mask = image[:, ::-1], mask[:, ::-1]
        if self.transform is not None:
            # Seed from torch's generator, which Lightning seeds per worker and per epoch:
            # augmentations are then reproducible and differ across workers and epochs.
            self.transform.set_random_seed(int(torch.randint(0, 2**31 - 1, ())))
            out = self.transform(image=np.ascontiguousarray(image), mask=np.ascontiguousarray(mask))
            image, mask = out["image"], out["mask"]
        mask_t = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))
        return {"image": as_network_input(image), "mask": mask_t[None]}
