"""Data sets as configured by ``data.*``: settings, loading, sampling and splitting.

A spec is everything about a data set except the PyTorch loaders, so that the data checker
(:mod:`lus_unet.check`) can use it without importing torch or Lightning. Each
LightningDataModule wraps one spec class; :data:`SPECS` maps the config's ``_target_`` to it.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from lus_unet.data.cache import load_frame_set_cached
from lus_unet.data.frames import FrameSet, ReadOptions, load_frame_set
from lus_unet.data.io import IMAGE_SUFFIXES, JPEG_SUFFIXES
from lus_unet.data.preprocess import PreprocessConfig
from lus_unet.data.samples import (
    SampleTable,
    build_sample_table,
    split_samples,
)
from lus_unet.data.size_limit import MAX_PIXELS
from lus_unet.data.splits import Split
from lus_unet.data.synthetic import (
    GENERATOR_VERSION,
    LUS_PROFILE_VERSIONS,
    generate_lus_dataset,
    generate_salient_dataset,
)


class DataSpec(ABC):
    """A folder of images and masks (or its embedded synthetic default).

    Subclasses set the synthetic generator, the accepted file types and the preprocessing
    (``self.preprocess``, a :class:`PreprocessConfig`). The entry points check the values
    first, against the config schema (:mod:`lus_unet.config.data`).

    Args:
        root: the data folder; None = the embedded synthetic set, generated on first use under
            ``cache_dir``.
        cache_dir: where generated data and the preprocessing cache go (never inside ``root``).
        cache: keep preprocessed frames in ``cache_dir/preprocessed/`` (see
            :mod:`lus_unet.data.cache`).
        image_dir: image folder name (None = detect the layout: images/ or the authors' IMG/).
        mask_dir: mask folder name (None = detect the layout).
        image_size: (height, width) the frames are resized to.
        batch_size: samples per batch.
        num_workers: loader worker processes (0 = load in the main process).
        n_folds: folds of the cross-validation.
        fold: which fold validates (None = one seeded holdout split of ``val_fraction``).
        val_fraction: validation fraction when ``fold`` is None.
        seed: seeds frame selection and splits.
        n_frames: source frames to use (None = all): the first ``n_frames`` of one seeded order
            of every frame (or of ``frames_file``'s order), so that smaller sizes are subsets of
            larger ones.
        hflip_copies: add every frame's horizontal flip as a sample of the same group.
        frames_file: a text file of source-frame ids, one per line: exactly these frames (the
            first ``n_frames`` of them when set), instead of the seeded order.
        group_by: ``frame`` (a frame, its flip and the frames of its cine file form a group)
            or a regex on ids such as ``pos\\d+``.
        split: ``grouped`` or ``leaky_paper`` (the authors' image-level k-fold).
        augment: training augmentation name (``none``, ``keras``, ``strong``).
        mask_threshold: binarise non-binary masks above this value (None = refuse them).
        max_pixels: refuse, from its header, a frame or mask of more pixels than this.
        synthetic: parameters of the embedded synthetic set (see the subclass).
    """

    kind: ClassVar[str]
    synthetic_defaults: ClassVar[dict[str, Any]]
    suffixes: ClassVar[tuple[str, ...]] = IMAGE_SUFFIXES
    preprocess: PreprocessConfig

    def __init__(
        self,
        *,
        root: str | None = None,
        cache_dir: str = ".cache",
        cache: bool = True,
        image_dir: str | None = None,
        mask_dir: str | None = None,
        image_size: tuple[int, int] = (256, 256),
        batch_size: int = 20,
        num_workers: int = 0,
        n_folds: int = 5,
        fold: int | None = None,
        val_fraction: float = 0.2,
        seed: int = 42,
        n_frames: int | None = None,
        hflip_copies: bool = False,
        frames_file: str | None = None,
        group_by: str = "frame",
        split: str = "grouped",
        augment: str = "keras",
        mask_threshold: float | None = None,
        max_pixels: int = MAX_PIXELS,
        synthetic: dict[str, Any] | None = None,
    ) -> None:
        self.root = Path(root).expanduser() if root else None
        self.cache_dir = Path(cache_dir).expanduser()
        self.cache = bool(cache)
        self.image_size = image_size
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.n_folds = n_folds
        self.fold = fold
        self.val_fraction = val_fraction
        self.seed = seed
        self.n_frames = n_frames
        self.hflip_copies = bool(hflip_copies)
        self.frames_file = Path(frames_file).expanduser() if frames_file else None
        self.group_by = group_by
        self.split_mode = split
        self.augment = augment
        self.synthetic = {**self.synthetic_defaults, **(synthetic or {})}
        self.read = ReadOptions(
            image_dir=image_dir,
            mask_dir=mask_dir,
            mask_threshold=mask_threshold,
            suffixes=self.suffixes,
            max_pixels=max_pixels,
        )

    @abstractmethod
    def synthetic_name(self) -> str:
        """The folder name of the embedded synthetic set under ``cache_dir/synthetic/``."""

    @abstractmethod
    def generate(self, root: Path) -> None:
        """Write the embedded synthetic set into ``root`` (reused when already there)."""

    @property
    def data_root(self) -> Path:
        """The folder read: the user's, or the embedded synthetic set's."""
        if self.root is not None:
            return self.root
        return self.cache_dir / "synthetic" / self.synthetic_name()

    def prepare(self) -> None:
        """Generate the embedded synthetic set if it is the one used."""
        if self.root is None:
            self.generate(self.data_root)

    def load(self) -> FrameSet:
        """The preprocessed frames of the data folder (through the cache when enabled)."""
        if self.cache:
            return load_frame_set_cached(self.data_root, self.preprocess, self.read, self.cache_dir)
        return load_frame_set(self.data_root, self.preprocess, self.read)

    def sample_table(self, ids: list[str], groups: list[str]) -> SampleTable:
        """The samples taken from the frames: ``n_frames`` of them, plus flips if asked.

        Args:
            ids: every frame's id.
            groups: every frame's source group.
        """
        return build_sample_table(
            ids,
            groups,
            n_frames=self.n_frames,
            hflip_copies=self.hflip_copies,
            seed=self.seed,
            group_by=self.group_by,
            frames_file=self.frames_file,
        )

    def split_of(self, samples: SampleTable) -> Split:
        """The train/validation split of the samples for this spec's fold (or holdout).

        Args:
            samples: from :meth:`sample_table`.
        """
        return split_samples(
            samples,
            mode=self.split_mode,
            fold=self.fold,
            n_folds=self.n_folds,
            val_fraction=self.val_fraction,
            seed=self.seed,
        )

    def describe(self) -> dict[str, Any]:
        """The settings a split depends on, as JSON-able data (for ``split.json``)."""
        return {
            "dataset": self.kind,
            "data_root": str(self.data_root),
            "mode": self.split_mode,
            "group_by": self.group_by,
            "seed": self.seed,
            "frames_file": None if self.frames_file is None else str(self.frames_file),
            "n_folds": self.n_folds,
            "fold": self.fold,
            "preprocess": self.preprocess.fingerprint(),
        }


class LUSSpec(DataSpec):
    """Lung-ultrasound frames with rib masks (``conf/data/lus.yaml``).

    Args:
        preprocess: :class:`PreprocessConfig` fields (``image_size`` comes from the spec).
        mat_key: MAT variable holding the frame (None = the file's only 2-D/3-D array).
        mask_mat_key: MAT variable holding the mask (None = the mask file's only array).
        frame_axis: frame axis of 3-D cine MAT arrays.
        **common: the :class:`DataSpec` arguments; ``synthetic`` takes ``n_frames``, ``seed``,
            ``image_format`` and ``profile`` (``standard`` or ``realistic``; see
            :func:`generate_lus_dataset`).
    """

    kind = "lus"
    synthetic_defaults: ClassVar[dict[str, Any]] = {
        "n_frames": 300,
        "seed": 0,
        "image_format": "mat",
        "profile": "standard",
    }

    def __init__(
        self,
        *,
        preprocess: dict[str, Any] | None = None,
        mat_key: str | None = None,
        mask_mat_key: str | None = None,
        frame_axis: int = 2,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.preprocess = PreprocessConfig(**{**(preprocess or {}), "image_size": self.image_size})
        self.read = dataclasses.replace(
            self.read, mat_key=mat_key, mask_mat_key=mask_mat_key, frame_axis=frame_axis
        )

    def synthetic_name(self) -> str:
        s = self.synthetic
        # The standard profile keeps the name it had before profiles existed (its caches).
        kind = "lus" if s["profile"] == "standard" else f"lus-{s['profile']}"
        version = LUS_PROFILE_VERSIONS[s["profile"]]
        return f"{kind}-v{version}-n{s['n_frames']}-seed{s['seed']}-{s['image_format']}"

    def generate(self, root: Path) -> None:
        generate_lus_dataset(root, **self.synthetic)


class SalientSpec(DataSpec):
    """Salient-object images with binary masks for X-UNet pre-training (``conf/data/salient.yaml``).

    Images (PNG, TIFF, JPEG, MAT; colour is converted to grayscale) are scaled to [0, 1] (8-bit
    /255, 16-bit /65535) and resized; they are photographs, not ultrasound, so they are neither
    despeckled nor log-compressed. Images and masks pair by file stem in ``image_dir`` and
    ``mask_dir``.

    Args:
        **common: the :class:`DataSpec` arguments; ``synthetic`` takes ``n_images`` and
            ``seed`` (see :func:`generate_salient_dataset`).
    """

    kind = "salient"
    synthetic_defaults: ClassVar[dict[str, Any]] = {"n_images": 300, "seed": 0}
    suffixes = (*IMAGE_SUFFIXES, *JPEG_SUFFIXES)

    def __init__(self, **common: Any) -> None:
        common.setdefault("image_dir", "images")
        common.setdefault("mask_dir", "masks")
        common.setdefault("batch_size", 30)
        super().__init__(**common)
        self.preprocess = PreprocessConfig(image_size=self.image_size, kind="log", despeckle=False)

    def synthetic_name(self) -> str:
        s = self.synthetic
        return f"salient-v{GENERATOR_VERSION}-n{s['n_images']}-seed{s['seed']}"

    def generate(self, root: Path) -> None:
        generate_salient_dataset(root, **self.synthetic)


# The ``_target_`` of each data config -> its spec (strings: the DataModules import Lightning).
SPECS: dict[str, type[DataSpec]] = {
    "lus_unet.data.lus_datamodule.LUSDataModule": LUSSpec,
    "lus_unet.data.salient_datamodule.SalientDataModule": SalientSpec,
}


def spec_from_config(data: dict[str, Any], **overrides: Any) -> DataSpec:
    """The spec of a ``data`` config (a plain dict with ``_target_``), without Lightning.

    Args:
        data: the resolved ``data`` config, checked by the schema (its ``_target_`` is a key
            of :data:`SPECS`), or a run's stored one.
        **overrides: keys set by the entry point (``fold``, ``seed``), as the trainer passes them.
    """
    options = {k: v for k, v in data.items() if k != "_target_"}
    return SPECS[data["_target_"]](**{**options, **overrides})


def spec_from_run_config(run_config: dict[str, Any]) -> DataSpec:
    """The data spec a training run used, from its stored configuration.

    The one way evaluation, prediction, reports and init checks rebuild a run's readers and
    preprocessing: its ``data`` section with the run's ``fold`` and ``seed``, exactly as the
    train entry point builds its data module.

    Args:
        run_config: the run's resolved configuration (``config.yaml``, or a checkpoint's
            ``hyper_parameters.run_config``).
    """
    return spec_from_config(
        run_config["data"], fold=run_config.get("fold"), seed=run_config["seed"]
    )
