"""LightningDataModule for lung-ultrasound frames and rib masks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader

from lus_unet.data.augment import build_augmentation
from lus_unet.data.dataset import SegmentationDataset
from lus_unet.data.frames import FrameSet, load_frame_set
from lus_unet.data.preprocess import PreprocessConfig
from lus_unet.data.samples import SampleTable, build_sample_table, split_samples
from lus_unet.data.synthetic import GENERATOR_VERSION, generate_lus_dataset

log = logging.getLogger(__name__)


class LUSDataModule(L.LightningDataModule):
    """Lung-ultrasound frames from a data folder (or the embedded synthetic set), split by group.

    Args:
        root: the data folder; None = the embedded synthetic set, generated on first use
            under ``cache_dir``.
        cache_dir: where generated and cached data go (never inside ``root``).
        image_size: (height, width) the frames are resized to; divisible by 16.
        batch_size: samples per batch.
        num_workers: loader worker processes (0 = load in the main process).
        n_folds: folds of the cross-validation.
        fold: which fold validates (None = one seeded holdout split of ``val_fraction``).
        val_fraction: validation fraction when ``fold`` is None.
        seed: seeds frame selection and splits.
        n_frames: source frames to use (None = all); the paper uses 200 or 300.
        hflip_copies: add every frame's horizontal flip as a sample of the same group.
        group_by: ``frame`` (a frame, its flip and the frames of its cine file form a group)
            or a regex on ids such as ``pos\\d+``.
        split: ``grouped`` or ``leaky_paper`` (the authors' image-level k-fold).
        augment: training augmentation name (``none``, ``keras``, ``strong``).
        preprocess: :class:`PreprocessConfig` fields.
        mat_key: MAT variable holding the frame (None = the file's only 2-D/3-D array).
        mask_mat_key: MAT variable holding the mask (None = the mask file's only array).
        frame_axis: frame axis of 3-D cine MAT arrays.
        mask_threshold: binarise non-binary masks above this value (None = refuse them).
        synthetic: ``n_frames``, ``seed``, ``image_format`` of the embedded synthetic set.
    """

    def __init__(
        self,
        root: str | None = None,
        cache_dir: str = ".cache",
        image_size: tuple[int, int] = (256, 256),
        batch_size: int = 20,
        num_workers: int = 0,
        n_folds: int = 5,
        fold: int | None = None,
        val_fraction: float = 0.2,
        seed: int = 42,
        n_frames: int | None = None,
        hflip_copies: bool = False,
        group_by: str = "frame",
        split: str = "grouped",
        augment: str = "keras",
        preprocess: dict[str, Any] | None = None,
        mat_key: str | None = None,
        mask_mat_key: str | None = None,
        frame_axis: int = 2,
        mask_threshold: float | None = None,
        synthetic: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.root = Path(root).expanduser() if root else None
        self.cache_dir = Path(cache_dir).expanduser()
        self.preprocess = PreprocessConfig(
            **{**(preprocess or {}), "image_size": tuple(image_size)}
        )
        self.synthetic = dict(synthetic or {"n_frames": 300, "seed": 0, "image_format": "mat"})
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.n_folds = n_folds
        self.fold = fold
        self.val_fraction = val_fraction
        self.seed = seed
        self.n_frames = n_frames
        self.hflip_copies = hflip_copies
        self.group_by = group_by
        self.split_mode = split
        self.augment = augment
        self.mat_key = mat_key
        self.mask_mat_key = mask_mat_key
        self.frame_axis = frame_axis
        self.mask_threshold = mask_threshold
        self.frames: FrameSet | None = None
        self.samples: SampleTable | None = None
        build_augmentation(augment)  # fail on an unknown name now, not after loading data

    @property
    def data_root(self) -> Path:
        """The folder read: the user's, or the embedded synthetic set's."""
        if self.root is not None:
            return self.root
        s = self.synthetic
        name = f"lus-v{GENERATOR_VERSION}-n{s['n_frames']}-seed{s['seed']}-{s['image_format']}"
        return self.cache_dir / "synthetic" / name

    def prepare_data(self) -> None:
        if self.root is None:
            generate_lus_dataset(self.data_root, **self.synthetic)

    def setup(self, stage: str | None = None) -> None:
        if self.samples is not None:
            return
        self.frames = load_frame_set(
            self.data_root,
            self.preprocess,
            mat_key=self.mat_key,
            mask_mat_key=self.mask_mat_key,
            frame_axis=self.frame_axis,
            mask_threshold=self.mask_threshold,
        )
        self.samples = build_sample_table(
            self.frames.ids,
            self.frames.groups,
            n_frames=self.n_frames,
            hflip_copies=self.hflip_copies,
            seed=self.seed,
            group_by=self.group_by,
        )
        self.split = split_samples(
            self.samples,
            mode=self.split_mode,
            fold=self.fold,
            n_folds=self.n_folds,
            val_fraction=self.val_fraction,
            seed=self.seed,
        )
        log.info(
            "Split (%s, fold=%s): %d training and %d validation samples",
            self.split_mode,
            self.fold,
            len(self.split.train),
            len(self.split.val),
        )

    def _dataset(self, indices: Any, train: bool) -> SegmentationDataset:
        assert self.frames is not None and self.samples is not None, "call setup() first"
        return SegmentationDataset(
            self.frames.images,
            self.frames.masks,
            self.samples.frame_index[indices],
            self.samples.flipped[indices],
            build_augmentation(self.augment) if train else None,
        )

    def _loader(self, indices: Any, train: bool) -> DataLoader:
        return DataLoader(
            self._dataset(indices, train),
            batch_size=self.batch_size,
            shuffle=train,
            num_workers=self.num_workers,
            pin_memory=torch.cuda.is_available(),
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.split.train, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.split.val, train=False)

    def split_info(self) -> dict[str, Any]:
        """The split as JSON-able data: ids on each side and every sample's group."""
        assert self.samples is not None, "call setup() first"
        ids, groups = self.samples.ids, self.samples.groups
        return {
            "data_root": str(self.data_root),
            "mode": self.split_mode,
            "group_by": self.group_by,
            "seed": self.seed,
            "n_folds": self.n_folds,
            "fold": self.fold,
            "train": [ids[i] for i in self.split.train],
            "val": [ids[i] for i in self.split.val],
            "groups": dict(zip(ids, groups, strict=True)),
            "preprocess": self.preprocess.fingerprint(),
        }
