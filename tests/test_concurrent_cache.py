"""Several processes building the same preprocessing cache at once (issue 12, item 3).

Sweep jobs, DDP ranks and several users can start on one empty cache together. The embedded
synthetic set is generated and preprocessed once, under a lock; every process gets the same
frames, and one valid cache file results.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import h5py
from cache_worker import digest, load_together

from lus_unet.data.cache import CACHE_SUBDIR, read_frame_cache
from lus_unet.data.frames import FrameSet

PROCESSES = 4


def test_four_processes_on_one_empty_cache_get_identical_inputs(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    context = multiprocessing.get_context("spawn")  # as separate jobs: nothing inherited
    barrier, queue = context.Barrier(PROCESSES), context.Queue()
    processes = [
        context.Process(target=load_together, args=(str(cache), barrier, queue))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    digests = {found for found, _ in results}
    assert len(digests) == 1, "the processes got different frames"
    assert sum(built for _, built in results) == 1, "the frames were preprocessed more than once"

    files = sorted((cache / CACHE_SUBDIR).glob("*.h5"))
    assert len(files) == 1
    leftovers = [p.name for p in (cache / CACHE_SUBDIR).iterdir() if p.suffix == ".tmp"]
    assert leftovers == []
    with h5py.File(files[0], "r") as f:
        fingerprint = f.attrs["fingerprint"]
    cached = _read_as_stored(files[0], fingerprint)
    assert digest(cached) in digests  # the file holds exactly what every process trained on
    synthetic = [p for p in (cache / "synthetic").iterdir() if not p.name.startswith(".")]
    assert len(synthetic) == 1  # generated once, no temporary folder left


def _read_as_stored(path: Path, fingerprint: str) -> FrameSet:
    """The cache file's frames, read against the fingerprint it holds."""
    frames = read_frame_cache(path, json.loads(fingerprint))
    assert frames is not None, "the cache file is not valid"
    return frames
