"""Loading torch files without running pickled code, and saying plainly why one is refused.

Every weights or checkpoint file is read with ``torch.load(..., weights_only=True)``. Its
errors are sorted into two kinds with different advice: a file that *carries code* (a pickled
global that the weights-only unpickler refuses, such as ``os.system``) is refused and must
never be loaded any other way; a file that is damaged or not a torch file at all just cannot
be read. torch's own message recommends ``weights_only=False`` in both cases, which would run
the code, so it is never quoted.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from lus_unet.errors import WeightsError

# How the weights-only unpickler names a global it refuses, across torch versions:
# "Unsupported global: GLOBAL builtins.eval was not ..." and "Trying to load unsupported
# GLOBAL posix.system whose module posix is blocked".
_REFUSED_GLOBAL = re.compile(r"unsupported global:? (?:GLOBAL )?(\S+)", re.IGNORECASE)
# The part of a weights-only failure that says what was wrong, after torch's advice.
_UNPICKLER_DETAIL = re.compile(r"WeightsUnpickler error:\s*(\S[^\n]*)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_REASON_CHARS = 200


def load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    """Load a state-dict file without unpickling arbitrary objects (``weights_only=True``).

    Args:
        path: a file written by ``torch.save``.

    Raises:
        WeightsError: one line naming the file: it carries code (refused, never run), or
            torch cannot read it (damaged, truncated, another format), or it holds no dict.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types on bad files; all are sorted below
        code = refused_global(path, error)
        if code is not None:
            raise WeightsError(
                f"{path}: refused to load: it carries code that would run on load "
                f"(pickled {code}), not only weights; never load it with weights_only=False; "
                "use a plain state dict or a checkpoint written by lus_unet.train"
            ) from error
        raise WeightsError(
            f"{path}: not a readable PyTorch weights file (damaged, truncated or another "
            f"format; {failure_reason(error)})"
        ) from error
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict, found {type(state).__name__}")
    return state


def refused_global(path: Path, error: Exception) -> str | None:
    """The pickled global that made ``torch.load(weights_only=True)`` refuse a file, if any.

    Args:
        path: the file.
        error: what ``torch.load`` raised.
    """
    found = _REFUSED_GLOBAL.search(str(error))
    if found:
        return found.group(1).rstrip(".,;")
    # torch >= 2.5 lists a zip checkpoint's unsafe globals by scanning its pickle (nothing runs),
    # which also catches a payload torch's message does not name.
    scan = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)
    if scan is None:
        return None
    try:
        unsafe = scan(path)
    except Exception:  # not a zip checkpoint, or damaged: then it is not "code" we can name
        return None
    return ", ".join(unsafe) if unsafe else None


def failure_reason(error: Exception) -> str:
    """torch's reason for not reading a file, as one short line without its weights_only advice.

    Args:
        error: what ``torch.load`` raised.
    """
    text = _ANSI.sub("", str(error))
    detail = _UNPICKLER_DETAIL.search(text)
    line = detail.group(1) if detail else next((s for s in text.splitlines() if s.strip()), "")
    line = line.strip().split(". ")[0]  # the first sentence: torch goes on with advice
    if "weights_only" in line:  # torch's advice, never the reason
        line = ""
    name = type(error).__name__
    return f"{name}: {line[:_REASON_CHARS]}" if line else name
