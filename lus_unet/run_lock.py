"""The run folder's lock: one process at a time writes a run folder.

The lock is an OS file lock (``filelock``, ``flock`` on Unix) on ``<run>/.lock``, which the
kernel releases when its holder dies, however it dies. Beside it, ``<run>/.lock.json`` names
the holder (PID, host, start time) for the message a second process gets; the holder removes
it when it releases the lock, so one found on acquiring was left by a holder that was killed:
a stale lock, reported and taken over.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout

from lus_unet.errors import ConfigError
from lus_unet.utils import write_json_atomic

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
HOLDER_FILE = ".lock.json"


def _running(pid: Any) -> bool:
    """Whether a process with this PID runs on this machine (an unreadable PID: assumed so)."""
    if not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _describe(holder: dict[str, Any]) -> str:
    return f"PID {holder.get('pid')} on host {holder.get('host')}, since {holder.get('since')}"


class RunLock:
    """An exclusive, non-blocking lock on a run folder, as a context manager.

    Args:
        folder: the run folder (created if missing).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.holder_file = self.folder / HOLDER_FILE
        self._lock = FileLock(self.folder / LOCK_FILE, timeout=0)

    def _read_holder(self) -> dict[str, Any] | None:
        """The recorded holder, or None when there is none or it is unreadable."""
        try:
            holder = json.loads(self.holder_file.read_text())
        except (OSError, ValueError):
            return None
        return holder if isinstance(holder, dict) else None

    def acquire(self) -> None:
        """Take the lock, or raise a one-line ConfigError naming its holder.

        Raises:
            ConfigError: another live process holds the lock.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            raise ConfigError(self._held_message()) from None
        left = self._read_holder()
        if left is not None:  # its holder was killed before it could remove it
            log.warning("%s: stale lock left by %s; taking it over", self.folder, _describe(left))
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        write_json_atomic(self.holder_file, holder)

    def _held_message(self) -> str:
        holder = self._read_holder()
        if holder is None:
            who = "another process (it has not recorded itself yet)"
        else:
            who = _describe(holder)
            same_host = holder.get("host") == socket.gethostname()
            if same_host and not _running(holder.get("pid")):
                # flock is shared with forked children: a data-loader worker outlives a kill.
                return (
                    f"{self.folder} is still locked by a process started by {who}, which no "
                    "longer runs (a data-loader worker exits within seconds); try again shortly"
                )
        return (
            f"{self.folder} is in use by another training ({who}); wait for it to finish, "
            "or write to another folder (hydra.run.dir=...)"
        )

    def release(self) -> None:
        """Release the lock, removing the holder record first (a clean exit leaves none)."""
        self.holder_file.unlink(missing_ok=True)
        self._lock.release()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
