"""The LightningDataModule shared by every data set: a :class:`DataSpec` plus PyTorch loaders."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from lus_unet.data.augment import build_augmentation
from lus_unet.data.dataset import SegmentationDataset
from lus_unet.data.frames import FrameSet
from lus_unet.data.samples import SampleTable
from lus_unet.data.spec import DataSpec
from lus_unet.data.splits import Split

log = logging.getLogger(__name__)


class FolderDataModule(L.LightningDataModule):
    """Frames and masks of a data folder (or its synthetic default), split by group.

    Subclasses name their :class:`DataSpec` class in ``spec_class``; the keyword arguments are
    that spec's (the keys of the ``data`` config, checked by the config schema, plus ``fold``
    and ``seed``).

    Attributes:
        spec: the settings.
        frames: the preprocessed frames (after :meth:`setup`).
        samples: the samples drawn from them (after :meth:`setup`).
        split: training and validation sample indices (after :meth:`setup`).
    """

    spec_class: ClassVar[type[DataSpec]]

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.spec = self.spec_class(**options)
        self.frames: FrameSet | None = None
        self.samples: SampleTable | None = None
        self.split: Split | None = None

    @property
    def data_root(self) -> Path:
        """The folder read: the user's, or the embedded synthetic set's."""
        return self.spec.data_root

    def prepare_data(self) -> None:
        self.spec.prepare()

    def setup(self, stage: str | None = None) -> None:
        if self.split is not None:
            return
        self.frames = self.spec.load()
        for message in self.frames.quirks.messages():  # data that is probably not as meant
            log.warning("%s", message)
        self.samples = self.spec.sample_table(self.frames.ids, self.frames.groups)
        self.split = self.spec.split_of(self.samples)
        log.info(
            "Split (%s, fold=%s): %d training and %d validation samples",
            self.spec.split_mode,
            self.spec.fold,
            len(self.split.train),
            len(self.split.val),
        )

    def _loader(self, indices: np.ndarray, train: bool) -> DataLoader:
        assert self.frames is not None and self.samples is not None, "call setup() first"
        dataset = SegmentationDataset(
            self.frames.images,
            self.frames.masks,
            self.samples.frame_index[indices],
            self.samples.flipped[indices],
            build_augmentation(self.spec.augment) if train else None,
        )
        workers = self.spec.num_workers
        return DataLoader(
            dataset,
            batch_size=self.spec.batch_size,
            shuffle=train,
            num_workers=workers,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        assert self.split is not None, "call setup() first"
        return self._loader(self.split.train, train=True)

    def val_dataloader(self) -> DataLoader:
        assert self.split is not None, "call setup() first"
        return self._loader(self.split.val, train=False)

    def split_info(self) -> dict[str, Any]:
        """The split as JSON-able data: ids on each side, every sample's group, the settings."""
        assert self.samples is not None and self.split is not None, "call setup() first"
        ids, groups = self.samples.ids, self.samples.groups
        return {
            **self.spec.describe(),
            "train": [ids[i] for i in self.split.train],
            "val": [ids[i] for i in self.split.val],
            "groups": dict(zip(ids, groups, strict=True)),
        }
