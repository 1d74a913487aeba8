"""What defines a training run, so that ``resume=true`` continues only the same run.

A run folder's ``fingerprint.json`` holds

- ``settings``: the run's resolved configuration as dotted keys (``data.val_fraction``), the
  split settings, seed, model, recipe, fine-tuning stage and data sampling among them, without
  the keys in :data:`MAY_CHANGE_ON_RESUME`;
- ``data``: every data file's path (relative to the data folder), size and modification time,
  or the name of the embedded synthetic set (its generator settings and version).

``resume=true`` compares the recorded fingerprint with the new one and refuses any difference.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

FORMAT = 1

# Keys resume=true accepts changed, and their descendants: they decide when training stops,
# how fast it runs, what is logged and where files go, never which samples, model, recipe or
# schedule are trained. Everything else (trainer.accelerator, devices and precision too, which
# change the numbers) must be as recorded.
MAY_CHANGE_ON_RESUME = (
    "resume",
    "task_name",  # names the default output folder only
    "paths",  # output, cache and paper folders
    "data.root",  # a moved data folder: its files are compared instead (``data``)
    "data.cache_dir",
    "data.cache",
    "data.num_workers",
    "data.max_pixels",  # a guard against oversized files: what passes it is the same data
    # To extend or shorten a run; a decaying learning-rate schedule keeps the length it started
    # with (saved in the checkpoint), so extra epochs run at its final rate.
    "trainer.max_epochs",
    "trainer.max_steps",
    "trainer.max_time",
    "trainer.log_every_n_steps",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "image_log_every_n_epochs",
    "distance_metrics_every_n_epochs",
    "performance",  # channels_last and compile: speed only
    "init_created_by",  # shown in a message only
)
# What resume may change but a result depends on: how long it trained.
LENGTH_KEYS = ("trainer.max_epochs", "trainer.max_steps", "trainer.max_time")
_SHOWN = 6  # differences listed in a message; the rest are counted
_ABSENT = object()


def _may_change(key: str) -> bool:
    return any(key == k or key.startswith(f"{k}.") for k in MAY_CHANGE_ON_RESUME)


def _flatten(node: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in node.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{key}."))
        else:
            flat[key] = value
    return flat


def run_settings(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that define a run, as dotted keys.

    Args:
        stored: the run's resolved configuration (``config.yaml``).
    """
    return {k: v for k, v in _flatten(stored).items() if not _may_change(k)}


def fingerprint(stored: Mapping[str, Any], data: dict[str, Any] | None) -> dict[str, Any]:
    """A run's fingerprint, as ``fingerprint.json`` holds it.

    Args:
        stored: the run's resolved configuration.
        data: ``{"files": {path: [size, mtime_ns]}}``, ``{"embedded": name}``, or None when
            unknown (a folder written before fingerprints existed).
    """
    return {"format": FORMAT, "settings": run_settings(stored), "data": data}


def content_key(stored: Mapping[str, Any], data: dict[str, Any] | None) -> str:
    """A short hash of everything a finished run's result depends on: its settings, its
    length and its data, so that a cached result is reused only for the same training.

    Args:
        stored: the run's resolved configuration.
        data: its data, as :func:`fingerprint` takes it.
    """
    defining = {**run_settings(stored)}
    defining.update({k: v for k, v in _flatten(stored).items() if k in LENGTH_KEYS})
    text = json.dumps({"settings": defining, "data": data}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _data_name(data: dict[str, Any]) -> str:
    if "embedded" in data:
        return f"the embedded set {data['embedded']}"
    return f"a data folder of {len(data.get('files', {}))} files"


def _data_changes(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    if old is None or new is None or old == new:
        return []
    if "files" not in old or "files" not in new:
        return [f"data changed from {_data_name(old)} to {_data_name(new)}"]
    was, now = old["files"], new["files"]
    parts = []
    for what, names in (
        ("added", [n for n in now if n not in was]),
        ("removed", [n for n in was if n not in now]),
        ("modified (size or time)", [n for n in now if n in was and now[n] != was[n]]),
    ):
        if names:
            parts.append(f"{len(names)} {what}: {', '.join(names[:3])}{'...' * (len(names) > 3)}")
    return [f"data files changed ({'; '.join(parts)})"]


def changes(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between a recorded fingerprint and the current one, one phrase per key.

    Args:
        recorded: the run folder's fingerprint.
        current: the fingerprint of the run about to start.
    """
    old, new = recorded["settings"], current["settings"]
    found = []
    for key in [*old, *(k for k in new if k not in old)]:
        was, now = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if was != now:
            found.append(f"{key} changed {_show(was)} -> {_show(now)}")
    return found + _data_changes(recorded.get("data"), current.get("data"))


def _show(value: Any) -> str:
    """A value as typed on the command line: ``null``, ``true``, ``[256, 256]``, ``xunet``."""
    if value is _ABSENT:
        return "(absent)"
    return value if isinstance(value, str) else json.dumps(value)


def refusal(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> str | None:
    """The one-line refusal of a resume whose settings or data differ, or None if none do.

    Args:
        recorded: the run folder's fingerprint.
        current: the fingerprint of the run about to start.
    """
    found = changes(recorded, current)
    if not found:
        return None
    listed = ", ".join(found[:_SHOWN])
    more = f" and {len(found) - _SHOWN} more" if len(found) > _SHOWN else ""
    return (
        f"resume=true: {listed}{more}; start a new run folder (hydra.run.dir=...) "
        "or resume with the original settings"
    )
