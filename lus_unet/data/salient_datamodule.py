"""LightningDataModule for salient-object images (XPIE or the like) for X-UNet pre-training."""

from __future__ import annotations

from lus_unet.data.datamodule import FolderDataModule
from lus_unet.data.spec import SalientSpec


class SalientDataModule(FolderDataModule):
    """Grayscale salient-object images with binary masks (or the embedded synthetic set).

    Takes the keys of ``conf/data/salient.yaml`` (documented in :class:`SalientSpec` and
    :class:`~lus_unet.data.spec.DataSpec`) plus ``fold`` and ``seed``. The paper pre-trains on
    XPIE without cross-validation: no ``fold`` = one seeded holdout of ``val_fraction``; a
    ``fold`` = that fold of a grouped k-fold over the images.
    """

    spec_class = SalientSpec
