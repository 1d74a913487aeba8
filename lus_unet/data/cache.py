"""A cache of preprocessed frames in HDF5, keyed by the source files and the settings.

Despeckling and resizing a few hundred raw frames takes seconds to minutes, and every run
(each fold of a cross-validation, each job of a sweep) would repeat it. The result is stored
in ``<cache_dir>/preprocessed/<key>.h5``, where the key hashes a fingerprint of

- every source file: its name relative to the data folder, size and modification time (ns);
- the preprocessing settings (:meth:`PreprocessConfig.fingerprint`, with its algorithm
  version) and the reader settings (:meth:`ReadOptions.fingerprint`);
- this file format's version.

Any change gives a new key, hence a new file: a stale cache is never read. The fingerprint is
also stored in the file and compared on reading, so a hash collision or a foreign file cannot
pass either. Files are written to a temporary name and renamed into place, so an interrupted
or concurrent run never leaves a half-written cache behind, and processes that start on the
same missing cache together (sweep jobs, DDP ranks) take turns
(:mod:`lus_unet.data.build_lock`): the first builds it, the others read what it wrote. The
cache never lives inside the data folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from lus_unet.data.build_lock import building
from lus_unet.data.frames import FrameSet, ReadOptions, preprocess_pairs
from lus_unet.data.pairs import SourcePair
from lus_unet.data.preprocess import PreprocessConfig
from lus_unet.data.quirks import Quirks
from lus_unet.errors import DataError

log = logging.getLogger(__name__)

# Bump when the layout of the HDF5 file changes (2: the data's quirks).
CACHE_FORMAT = 2
CACHE_SUBDIR = "preprocessed"
_KEY_CHARS = 20


def _file_entry(root: Path, path: Path) -> list[Any]:
    try:
        stat = path.stat()
    except OSError as error:
        raise DataError(path, f"cannot read file: {error.strerror or error}") from error
    return [path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns]


def cache_fingerprint(
    root: Path, pairs: list[SourcePair], preprocess: PreprocessConfig, options: ReadOptions
) -> dict[str, Any]:
    """Everything the preprocessed frames depend on, as JSON-able data.

    Args:
        root: the data folder (file names are taken relative to it, so a copied folder that
            keeps its files' times reuses the cache).
        pairs: the image/mask pairs found in it.
        preprocess: the preprocessing settings.
        options: the reader settings.
    """
    return {
        "format": CACHE_FORMAT,
        "files": [
            [pair.id, *_file_entry(root, pair.image), *_file_entry(root, pair.mask)]
            for pair in pairs
        ],
        "preprocess": preprocess.fingerprint(),
        "read": options.fingerprint(),
    }


def _canonical(fingerprint: dict[str, Any]) -> str:
    return json.dumps(fingerprint, sort_keys=True, separators=(",", ":"))


def cache_file(cache_dir: Path, fingerprint: dict[str, Any]) -> Path:
    """The cache file of a fingerprint: ``<cache_dir>/preprocessed/<key>.h5``.

    Args:
        cache_dir: the cache folder.
        fingerprint: from :func:`cache_fingerprint`.
    """
    key = hashlib.sha256(_canonical(fingerprint).encode()).hexdigest()[:_KEY_CHARS]
    return Path(cache_dir) / CACHE_SUBDIR / f"{key}.h5"


def read_frame_cache(path: Path, fingerprint: dict[str, Any]) -> FrameSet | None:
    """The cached frames at ``path`` if it holds exactly this fingerprint, else None.

    An unreadable or foreign file is logged and treated as absent (it is rebuilt).

    Args:
        path: the cache file.
        fingerprint: the fingerprint the frames must have been built with.
    """
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("fingerprint") != _canonical(fingerprint):
                log.warning("Cache file %s holds other data; rebuilding it", path)
                return None
            frames = FrameSet(
                ids=list(f["ids"].asstr()[()]),
                groups=list(f["groups"].asstr()[()]),
                images=f["images"][()],
                masks=f["masks"][()],
                kinds=list(f["kinds"].asstr()[()]),
                quirks=Quirks.from_json(f.attrs["quirks"]),
            )
    except (OSError, KeyError, ValueError, TypeError) as error:
        log.warning("Cache file %s is unreadable (%s); rebuilding it", path, error)
        return None
    return frames


def write_frame_cache(path: Path, frames: FrameSet, fingerprint: dict[str, Any]) -> None:
    """Write frames and their fingerprint to ``path`` atomically (temporary file + rename).

    Args:
        path: the cache file.
        frames: the preprocessed frames.
        fingerprint: what they were built from.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique name created by h5py itself ("x": fail if it exists), so that the file gets the
    # umask's permissions like any other output (mkstemp's are owner-only).
    tmp = path.parent / f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        with h5py.File(tmp, "x") as f:
            f.attrs["fingerprint"] = _canonical(fingerprint)
            f.attrs["quirks"] = frames.quirks.to_json()
            text = h5py.string_dtype()
            f.create_dataset("ids", data=frames.ids, dtype=text)
            f.create_dataset("groups", data=frames.groups, dtype=text)
            f.create_dataset("kinds", data=frames.kinds, dtype=text)
            # One chunk per frame, so a partial read (one frame) decompresses one frame.
            frame_chunk = (1, *frames.images.shape[1:])
            f.create_dataset(
                "images", data=frames.images.astype(np.float32, copy=False), chunks=frame_chunk
            )
            f.create_dataset(
                "masks", data=frames.masks, chunks=frame_chunk, compression="lzf", shuffle=False
            )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_frame_set_cached(
    root: Path, preprocess: PreprocessConfig, options: ReadOptions, cache_dir: Path
) -> FrameSet:
    """The frames of a data folder, from the cache when it holds them, else built and cached.

    Args:
        root: the data folder.
        preprocess: the preprocessing settings.
        options: the reader settings.
        cache_dir: the cache folder (the file goes to its ``preprocessed/`` sub-folder).
    """
    pairs = options.discover(root)
    fingerprint = cache_fingerprint(root, pairs, preprocess, options)
    path = cache_file(cache_dir, fingerprint)
    started = time.perf_counter()
    frames = read_frame_cache(path, fingerprint)
    if frames is None:
        with building(path):
            # Another process may have built it while this one waited for the lock.
            frames = read_frame_cache(path, fingerprint)
            if frames is None:
                return _build_frame_cache(root, pairs, preprocess, options, path, fingerprint)
    log.info(
        "Loaded %d preprocessed frames of %s from the cache %s (%.1f s)",
        len(frames),
        root,
        path,
        time.perf_counter() - started,
    )
    return frames


def _build_frame_cache(
    root: Path,
    pairs: list[SourcePair],
    preprocess: PreprocessConfig,
    options: ReadOptions,
    path: Path,
    fingerprint: dict[str, Any],
) -> FrameSet:
    """Preprocess the pairs and write them to the cache file ``path`` (holding its lock)."""
    started = time.perf_counter()
    frames = preprocess_pairs(pairs, preprocess, options, root.name)
    log.info(
        "Preprocessed %d frames from %d files in %s (%.1f s)",
        len(frames),
        len(pairs),
        root,
        time.perf_counter() - started,
    )
    # A file changed while it was being read: its frames match neither fingerprint, so
    # caching them under either could serve a stale read later.
    if cache_fingerprint(root, pairs, preprocess, options) != fingerprint:
        log.warning("Files in %s changed while loading; not caching them", root)
        return frames
    try:
        write_frame_cache(path, frames, fingerprint)
    except OSError as error:
        log.warning("Could not write the preprocessing cache %s (%s); continuing", path, error)
        return frames
    log.info("Cached the preprocessed frames in %s", path)
    return frames
