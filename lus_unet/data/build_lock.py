"""One process at a time builds a shared file or folder (a preprocessing cache, a synthetic set).

Sweep jobs, DDP ranks and several users can start on the same empty cache together. Each
build already writes to a temporary name and renames it into place, so nobody ever reads half
a file; the lock also makes the others wait for the first build and then reuse it, instead of
repeating the work. The lock is ``filelock``'s: an OS lock on ``.<name>.lock`` beside the
target, released by the system when its holder dies, so a killed process leaves no stale lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)


def lock_path(target: Path) -> Path:
    """The lock file of a target: ``.<name>.lock`` in the same folder.

    Args:
        target: the file or folder being built.
    """
    return target.parent / f".{target.name}.lock"


@contextmanager
def building(target: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``target`` while building it; wait while another holds it.

    A folder where no lock can be created (read-only) is built without one: the atomic rename
    alone then keeps readers safe.

    Args:
        target: the file or folder being built.
    """
    lock = FileLock(str(lock_path(target)))
    locked = _acquire(lock, target)
    try:
        yield
    finally:
        if locked:
            lock.release()


def _acquire(lock: FileLock, target: Path) -> bool:
    """Take the lock, waiting (announced) while another process holds it; False: no lock."""
    try:
        Path(lock.lock_file).parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            log.info("Waiting for another process to finish building %s", target)
            lock.acquire()
    except OSError as error:
        log.warning("Cannot lock %s (%s); building it without a lock", lock.lock_file, error)
        return False
    return True
