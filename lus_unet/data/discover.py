"""Finding image/mask pairs in a data folder.

Two layouts are recognised automatically:

- the project's ``<root>/images/<id>.<ext>`` with ``<root>/masks/<id>.<ext>`` (pair by stem);
- the authors' ``<root>/IMG/img_<id>.<ext>`` with ``<root>/MASK/mask_<id>.<ext>`` (pair by
  ``<id>``; the returned id drops the prefix).

Explicit folder names (e.g. a salient-object set's own folders) pair by stem. Only files with
:data:`~lus_unet.data.io.IMAGE_SUFFIXES` are data. Hidden files (names starting with ``.``,
which covers ``.DS_Store`` and macOS ``._*`` resource forks) and Windows' ``Thumbs.db`` and
``desktop.ini`` are ignored; any other file or sub-folder is an error, so user data is never
skipped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lus_unet.data.io import IMAGE_SUFFIXES
from lus_unet.errors import ConfigError, DataError

_JUNK = {"thumbs.db", "desktop.ini"}
_SUPPORTED = ", ".join(IMAGE_SUFFIXES)


@dataclass(frozen=True)
class SourcePair:
    """An image file and its mask file, with the sample id they share."""

    id: str
    image: Path
    mask: Path


@dataclass(frozen=True)
class _Layout:
    image_dir: str
    mask_dir: str
    image_prefix: str = ""
    mask_prefix: str = ""


_PROJECT = _Layout("images", "masks")
_AUTHORS = _Layout("IMG", "MASK", "img_", "mask_")


def discover_pairs(
    root: Path, image_dir: str | None = None, mask_dir: str | None = None
) -> list[SourcePair]:
    """List the image/mask pairs under ``root``, sorted by id in natural order (pos2_2 < pos2_10).

    Args:
        root: the data folder.
        image_dir: the image sub-folder; with ``mask_dir``, overrides layout detection and
            pairs files by stem. Both or neither must be given.
        mask_dir: the mask sub-folder.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(root, "data folder does not exist")
    if not root.is_dir():
        raise DataError(root, "not a folder; expected a data folder holding images/ and masks/")
    if (image_dir is None) != (mask_dir is None):
        raise ConfigError(
            f"image_dir and mask_dir must be given together (got {image_dir!r}, {mask_dir!r})"
        )
    if image_dir is not None and mask_dir is not None:
        layout = _Layout(image_dir, mask_dir)
        for folder in (image_dir, mask_dir):
            if not (root / folder).is_dir():
                raise DataError(root / folder, "folder does not exist")
    else:
        layout = _detect_layout(root)
    images = _index(root / layout.image_dir, layout.image_prefix)
    masks = _index(root / layout.mask_dir, layout.mask_prefix)
    if not images:
        raise DataError(root / layout.image_dir, f"no images found (supported: {_SUPPORTED})")
    _check_matched(images, masks, layout.mask_dir, layout.mask_prefix, "no mask for this image")
    _check_matched(masks, images, layout.image_dir, layout.image_prefix, "no image for this mask")
    return [SourcePair(i, images[i], masks[i]) for i in sorted(images, key=natural_key)]


def natural_key(text: str) -> tuple[tuple[object, ...], str]:
    """Sort key comparing digit runs as numbers (``a2 < a10``); ties fall back to the text.

    Args:
        text: the string to sort.
    """
    # re.split with a capturing group alternates text, digits, text, ...: int and str never
    # meet at the same position, so the tuples always compare.
    chunks = re.split(r"(\d+)", text)
    return tuple(int(c) if i % 2 else c.lower() for i, c in enumerate(chunks)), text


def _detect_layout(root: Path) -> _Layout:
    present = [
        layout
        for layout in (_PROJECT, _AUTHORS)
        if (root / layout.image_dir).is_dir() or (root / layout.mask_dir).is_dir()
    ]
    if len(present) > 1:
        raise DataError(
            root,
            "ambiguous layout: both images/ + masks/ and IMG/ + MASK/ exist; keep one, "
            "or name the folders with data.image_dir and data.mask_dir",
        )
    if not present:
        raise DataError(
            root, "no data folders: expected images/ and masks/ (or the authors' IMG/ and MASK/)"
        )
    layout = present[0]
    for folder, other in ((layout.image_dir, layout.mask_dir), (layout.mask_dir, layout.image_dir)):
        if not (root / folder).is_dir():
            raise DataError(root / folder, f"folder does not exist (expected next to {other}/)")
    return layout


def _index(folder: Path, prefix: str) -> dict[str, Path]:
    """Map id -> file for the data files of one folder, refusing anything unexpected."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name.lower() in _JUNK:
            continue
        if path.is_dir():
            raise DataError(path, "unexpected sub-folder (data folders are not searched deeper)")
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise DataError(path, f"unexpected file type (supported: {_SUPPORTED})")
        stem = path.stem
        if prefix:
            if not stem.startswith(prefix) or len(stem) == len(prefix):
                raise DataError(
                    path, f"file name lacks the {prefix!r} prefix of {folder.name}/{prefix}<id>"
                )
            stem = stem[len(prefix) :]
        if stem in found:
            raise DataError(
                path, f"ambiguous: {found[stem].name} has the same id {stem!r}; keep one of them"
            )
        found[stem] = path
    return found


def _check_matched(
    files: dict[str, Path], partners: dict[str, Path], partner_dir: str, prefix: str, problem: str
) -> None:
    missing = sorted((i for i in files if i not in partners), key=natural_key)
    if not missing:
        return
    more = f"; {len(missing) - 1} more like it" if len(missing) > 1 else ""
    raise DataError(
        files[missing[0]], f"{problem} (expected {partner_dir}/{prefix}{missing[0]}.<ext>{more})"
    )
