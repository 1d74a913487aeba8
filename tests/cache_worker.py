"""One of several processes that load the same data set together (``test_concurrent_cache.py``).

A module of its own, importing no torch, so that the spawned processes start in a second.
"""

from __future__ import annotations

import hashlib
import logging
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from lus_unet.data.frames import FrameSet
from lus_unet.data.spec import LUSSpec

BUILT = "Preprocessed"  # the cache's log line when this process did the preprocessing


class _Lines(logging.Handler):
    """Keeps every message logged."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def digest(frames: FrameSet) -> str:
    """A hash of everything training takes from the frames: ids, groups, arrays, kinds."""
    h = hashlib.sha256()
    for text in (*frames.ids, *frames.groups, *frames.kinds):
        h.update(text.encode())
    h.update(frames.images.tobytes())
    h.update(frames.masks.tobytes())
    return h.hexdigest()


def load_together(cache_dir: str, barrier: Barrier, results: Queue) -> None:
    """Wait for the others, then prepare and load the embedded synthetic set as training does.

    Puts the digest of the frames this process got, and whether it preprocessed them itself,
    on ``results``.

    Args:
        cache_dir: the shared, initially empty cache folder.
        barrier: released when every process is ready.
        results: where the outcome goes.
    """
    handler = _Lines()
    logging.getLogger("lus_unet").addHandler(handler)
    logging.getLogger("lus_unet").setLevel(logging.INFO)
    spec = LUSSpec(cache_dir=str(Path(cache_dir)), image_size=(32, 32), synthetic={"n_frames": 6})
    barrier.wait()
    spec.prepare()
    frames = spec.load()
    results.put((digest(frames), any(line.startswith(BUILT) for line in handler.lines)))
