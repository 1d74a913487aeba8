"""Finding image/mask pairs in a data folder.

Two layouts are recognised automatically:

- the project's ``<root>/images/<id>.<ext>`` with ``<root>/masks/<id>.<ext>`` (pair by stem);
- the authors' ``<root>/IMG/img_<id>.<ext>`` with ``<root>/MASK/mask_<id>.<ext>`` (pair by
  ``<id>``; the returned id drops the prefix).

Explicit folder names (e.g. a salient-object set's own folders) pair by stem. Only files with
:data:`~lus_unet.data.io.IMAGE_SUFFIXES` (or the suffixes a caller passes) are data. Hidden
files (names starting with ``.``, which covers ``.DS_Store`` and macOS ``._*`` resource forks)
and Windows' ``Thumbs.db`` and ``desktop.ini`` are ignored; any other file or sub-folder is an
error, so user data is never skipped silently.

:func:`discover_pairs` stops at the first problem; :func:`scan_pairs` lists them all (the data
checker's view).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lus_unet.data.io import IMAGE_SUFFIXES
from lus_unet.data.pairs import SourcePair
from lus_unet.errors import ConfigError, DataError

_JUNK = {"thumbs.db", "desktop.ini"}


@dataclass
class PairScan:
    """What a data folder holds: its complete pairs and every per-file problem found.

    Attributes:
        pairs: the image/mask pairs, sorted by id in natural order.
        problems: one error per bad file (unexpected type, duplicate id, missing partner).
        image_dir: the image folder name the layout resolved to.
        mask_dir: the mask folder name.
    """

    pairs: list[SourcePair]
    problems: list[DataError] = field(default_factory=list)
    image_dir: str = "images"
    mask_dir: str = "masks"


@dataclass(frozen=True)
class _Layout:
    image_dir: str
    mask_dir: str
    image_prefix: str = ""
    mask_prefix: str = ""


_PROJECT = _Layout("images", "masks")
_AUTHORS = _Layout("IMG", "MASK", "img_", "mask_")


def discover_pairs(
    root: Path,
    image_dir: str | None = None,
    mask_dir: str | None = None,
    *,
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
) -> list[SourcePair]:
    """List the image/mask pairs under ``root``, sorted by id in natural order (pos2_2 < pos2_10).

    Raises the first problem found (see :func:`scan_pairs` for the arguments), noting how many
    more there are.
    """
    scan = scan_pairs(root, image_dir, mask_dir, suffixes=suffixes)
    if scan.problems:
        first, more = scan.problems[0], len(scan.problems) - 1
        if more:
            raise DataError(
                first.path,
                f"{first.problem}; {more} more problem{'s' if more > 1 else ''} in this folder "
                "(python -m lus_unet.check lists them all)",
            )
        raise first
    return scan.pairs


def scan_pairs(
    root: Path,
    image_dir: str | None = None,
    mask_dir: str | None = None,
    *,
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
) -> PairScan:
    """Pair the images and masks under ``root`` and collect every per-file problem.

    Problems that leave nothing to pair (missing folders, an ambiguous layout, no images) raise
    at once.

    Args:
        root: the data folder.
        image_dir: the image sub-folder; with ``mask_dir``, overrides layout detection and
            pairs files by stem. Both or neither must be given.
        mask_dir: the mask sub-folder.
        suffixes: the file types that are data (default: the LUS formats).
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
    problems: list[DataError] = []
    images = _index(root / layout.image_dir, layout.image_prefix, suffixes, problems)
    # An image folder whose every entry is a problem is reported by those problems instead.
    if not images.files and not images.ambiguous and not problems:
        raise DataError(
            root / layout.image_dir, f"no images found (supported: {', '.join(suffixes)})"
        )
    masks = _index(root / layout.mask_dir, layout.mask_prefix, suffixes, problems)
    problems += _unmatched(
        images, masks, layout.mask_dir, layout.mask_prefix, "no mask for this image"
    )
    problems += _unmatched(
        masks, images, layout.image_dir, layout.image_prefix, "no image for this mask"
    )
    ids = sorted((i for i in images.files if i in masks.files), key=natural_key)
    pairs = [SourcePair(i, images.files[i], masks.files[i]) for i in ids]
    return PairScan(pairs, problems, layout.image_dir, layout.mask_dir)


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


@dataclass
class _Folder:
    """The data files of one folder: unique ids, and ids that several files claim."""

    files: dict[str, Path]
    ambiguous: set[str]

    def has(self, file_id: str) -> bool:
        return file_id in self.files or file_id in self.ambiguous


def _index(
    folder: Path, prefix: str, suffixes: tuple[str, ...], problems: list[DataError]
) -> _Folder:
    """The data files of one folder; every unexpected entry is appended to ``problems``.

    Files sharing an id are all left unpaired (after a problem is noted), never chosen between.
    """
    first: dict[str, Path] = {}
    ambiguous: set[str] = set()
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name.lower() in _JUNK:
            continue
        if path.is_dir():
            problem = "unexpected sub-folder (data folders are not searched deeper)"
        elif path.suffix.lower() not in suffixes:
            problem = f"unexpected file type (supported: {', '.join(suffixes)})"
        elif prefix and (not path.stem.startswith(prefix) or len(path.stem) == len(prefix)):
            problem = f"file name lacks the {prefix!r} prefix of {folder.name}/{prefix}<id>"
        else:
            stem = path.stem[len(prefix) :]
            if stem not in first:
                first[stem] = path
                continue
            ambiguous.add(stem)
            problem = f"ambiguous: {first[stem].name} has the same id {stem!r}; keep one of them"
        problems.append(DataError(path, problem))
    return _Folder({k: v for k, v in first.items() if k not in ambiguous}, ambiguous)


def _unmatched(
    files: _Folder, partners: _Folder, partner_dir: str, prefix: str, problem: str
) -> list[DataError]:
    """A problem for every file whose id has no file in the partner folder."""
    return [
        DataError(path, f"{problem} (expected {partner_dir}/{prefix}{file_id}.<ext>)")
        for file_id, path in sorted(files.files.items(), key=lambda item: natural_key(item[0]))
        if not partners.has(file_id)
    ]
