"""LightningDataModule for lung-ultrasound frames and rib masks."""

from __future__ import annotations

from lus_unet.data.datamodule import FolderDataModule
from lus_unet.data.spec import LUSSpec


class LUSDataModule(FolderDataModule):
    """Lung-ultrasound frames from a data folder (or the embedded synthetic set), split by group.

    Takes the keys of ``conf/data/lus.yaml`` (documented in :class:`LUSSpec` and
    :class:`~lus_unet.data.spec.DataSpec`) plus ``fold`` and ``seed``.
    """

    spec_class = LUSSpec
