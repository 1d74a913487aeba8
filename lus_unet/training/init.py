"""Initialising a network from a checkpoint's weights (TL -> FT chaining), checked key by key."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from lus_unet.errors import ConfigError, WeightsError
from lus_unet.models.weights import load_state_dict_file
from lus_unet.run_folder import RunFolder

log = logging.getLogger(__name__)

# The LightningModule stores the network as ``self.net``.
MODULE_PREFIX = "net."


def network_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The network's tensors from a Lightning checkpoint or a plain state-dict file.

    Loaded with ``weights_only=True``: optimizer state is ignored, nothing is unpickled.
    """
    state = load_state_dict_file(path)
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    # A hand-made file may hold other values (weights_only allows numbers, strings, lists).
    odd = [repr(k) for k, v in state.items() if not isinstance(k, str) or not torch.is_tensor(v)]
    if odd:
        raise WeightsError(f"{path}: not a state dict of named tensors (entries {odd[:5]})")
    if any(key.startswith(MODULE_PREFIX) for key in state):
        state = {
            k[len(MODULE_PREFIX) :]: v for k, v in state.items() if k.startswith(MODULE_PREFIX)
        }
    return state


@dataclass
class InitReport:
    """What :func:`initialize_from` did with each key."""

    loaded: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)  # "name (file shape != model shape)"
    missing: list[str] = field(default_factory=list)  # in the model, not in the file
    unexpected: list[str] = field(default_factory=list)  # in the file, not in the model

    @property
    def complete(self) -> bool:
        return not (self.mismatched or self.missing or self.unexpected)


def initialize_from(net: nn.Module, path: Path, partial: bool = False) -> InitReport:
    """Copy a checkpoint's weights into ``net``, checking every key and shape.

    Args:
        net: the freshly built network.
        path: a Lightning checkpoint (``.ckpt``) or a state-dict file.
        partial: load what matches and log the rest, instead of refusing any mismatch.

    Raises:
        WeightsError: on any missing, unexpected or mismatched tensor unless ``partial``.
    """
    source = network_state_dict(path)
    target = net.state_dict()
    report = InitReport(
        missing=sorted(set(target) - set(source)), unexpected=sorted(set(source) - set(target))
    )
    usable = {}
    for name, tensor in source.items():
        if name not in target:
            continue
        if tensor.shape != target[name].shape:
            shapes = f"{tuple(tensor.shape)} != {tuple(target[name].shape)}"
            report.mismatched.append(f"{name} ({shapes})")
        else:
            usable[name] = tensor
            report.loaded.append(name)
    if not report.complete and not partial:
        problems = [
            f"{label}: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}"
            for label, names in (
                ("shape mismatch", report.mismatched),
                ("missing in checkpoint", report.missing),
                ("not in model", report.unexpected),
            )
            if names
        ]
        raise WeightsError(
            f"{path}: does not match the model ({'; '.join(problems)}); "
            "set init_partial=true to load only the matching tensors"
        )
    net.load_state_dict(usable, strict=False)
    log.info(
        "Initialised from %s: %d tensors loaded, %d mismatched, %d missing, %d unexpected",
        path,
        len(report.loaded),
        len(report.mismatched),
        len(report.missing),
        len(report.unexpected),
    )
    for label, names in (
        ("Skipped (shape)", report.mismatched),
        ("Missing", report.missing),
        ("Unexpected", report.unexpected),
    ):
        if names:
            log.warning("%s: %s", label, ", ".join(names))
    return report


def resolve_init_checkpoint(init_from: str, created_by: str | None) -> Path:
    """The checkpoint file named by ``init_from``; a clear error says how to create it."""
    path = Path(init_from).expanduser()
    if path.is_file():
        return path
    hint = f". Create it with: {created_by}" if created_by else ""
    raise ConfigError(f"init_from: checkpoint not found: {path}{hint}")


def init_validation_overlap(
    checkpoint: Path, val_ids: list[str], data_kind: str | None = None
) -> list[str]:
    """Validation ids of this run that the checkpoint's own run trained on.

    A transfer-learning checkpoint trained on frames that fine-tuning then validates on
    inflates the cross-validated Dice. The checkpoint's run folder holds ``split.json``
    (``<run>/checkpoints/<file>.ckpt``); without it the overlap is unknown and [] is returned.

    Args:
        checkpoint: the init checkpoint.
        val_ids: this run's validation ids.
        data_kind: this run's ``data._target_``: a checkpoint trained on another kind of
            data (salient-object images before LUS frames) shares no frame with it, whatever
            the file names.
    """
    folder = RunFolder.of_checkpoint(checkpoint)
    if not folder.split_file.is_file():
        return []
    trained_data = folder.read_config().get("data", {}) if folder.config_file.is_file() else {}
    if data_kind is not None and trained_data.get("_target_", data_kind) != data_kind:
        return []
    trained_on = set(folder.read_split()["train"])
    return [i for i in val_ids if i in trained_on]


def check_no_validation_leak(
    checkpoint: Path | None, val_ids: list[str], allowed: bool, data_kind: str | None = None
) -> list[str]:
    """Refuse an init checkpoint that trained on this run's validation samples, unless allowed.

    Returns:
        The validation ids the checkpoint trained on (recorded as ``init_val_overlap``).

    Args:
        checkpoint: the ``init_from`` checkpoint (None: nothing to check).
        val_ids: this run's validation sample ids.
        allowed: only warn (``init_allow_val_overlap=true``, as the paper's protocol does).
        data_kind: this run's ``data._target_`` (see :func:`init_validation_overlap`).

    Raises:
        ConfigError: the checkpoint trained on some of ``val_ids`` and ``allowed`` is false.
    """
    overlap = [] if checkpoint is None else init_validation_overlap(checkpoint, val_ids, data_kind)
    if not overlap:
        return overlap
    message = (
        f"init_from: {checkpoint} was trained on {len(overlap)} of this run's {len(val_ids)} "
        f"validation samples (e.g. {', '.join(overlap[:3])}), which would inflate its Dice. "
        "Initialise from the transfer-learning run of the same fold, or set "
        "init_allow_val_overlap=true to accept the leak (as the paper's protocol does)"
    )
    if not allowed:
        raise ConfigError(message)
    log.warning("%s", message)
    return overlap
