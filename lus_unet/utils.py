"""Small shared helpers: atomic file writes and what every command-line program shares."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import hydra
from hydra.errors import InstantiationException
from omegaconf import DictConfig

from lus_unet.errors import LusUnetError

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = str(PROJECT_ROOT / "conf")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


@contextmanager
def exit_on_user_error() -> Iterator[None]:
    """Turn a :class:`LusUnetError` into a one-line message and exit status 1.

    Also when ``hydra.utils.instantiate`` wrapped it (an error raised while building a
    configured object). Set ``HYDRA_FULL_ERROR=1`` to get the full traceback instead.
    """
    try:
        yield
    except (LusUnetError, InstantiationException) as error:
        cause = error if isinstance(error, LusUnetError) else error.__cause__
        if not isinstance(cause, LusUnetError) or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        log.error("%s", cause)
        sys.exit(1)


def command(run: Callable[[DictConfig], object], config_name: str) -> Callable[[], None]:
    """A command-line program's ``main``: Hydra composes ``conf/<config_name>.yaml`` for ``run``.

    A user error ends in one line and exit status 1 (:func:`exit_on_user_error`).

    Args:
        run: what the program does with its composed configuration.
        config_name: the configuration's name in ``conf/``.
    """

    # Wrapped, so that Hydra names the job after run's module (it unwraps the function).
    @functools.wraps(run)
    def main(cfg: DictConfig) -> None:
        with exit_on_user_error():
            run(cfg)

    return hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name=config_name)(main)
