"""Finding training checkpoints and rebuilding their networks safely, for inference.

A checkpoint argument is a ``.ckpt`` file, a run folder (its ``checkpoints/best.ckpt``) or a
cross-validation run folder (every ``fold_<k>/checkpoints/best.ckpt``: an ensemble of its
finished folds, see :mod:`lus_unet.evaluation.finished_folds`). Files are
read with ``torch.load(..., weights_only=True)``: a file carrying pickled code is refused
before anything in it runs. The network is rebuilt from the configuration the checkpoint
stores (``hyper_parameters.run_config``), so nothing about the model or its preprocessing is
re-specified by hand.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lus_unet.data.preprocess import PreprocessConfig
from lus_unet.data.spec import DataSpec, spec_from_run_config
from lus_unet.errors import ConfigError, WeightsError
from lus_unet.evaluation.finished_folds import finished_fold_checkpoints
from lus_unet.evaluation.stored_network import (
    MAX_PARAMETERS,
    check_network_fits,
    check_stored_config,
    model_options,
)
from lus_unet.models import build_model
from lus_unet.models.weights import load_state_dict_file
from lus_unet.run_folder import (
    BEST_CHECKPOINT_PATH,
    CHECKPOINT_SUFFIX,
    METRICS_FILE,
    RunFolder,
    run_dir_of,
)

log = logging.getLogger(__name__)

# SegmentationModule holds the network as ``self.net``.
NET_PREFIX = "net."


@dataclass(frozen=True, eq=False)
class LoadedCheckpoint:
    """A network rebuilt from a training checkpoint, in eval mode, with its run's config.

    Attributes:
        path: the checkpoint file.
        net: the network with the checkpoint's weights.
        run_config: the training run's resolved configuration (a plain dict).
    """

    path: Path
    net: nn.Module
    run_config: dict[str, Any]

    @property
    def run_dir(self) -> Path:
        """The run folder: the parent of ``checkpoints/``, else the file's own folder."""
        return run_dir_of(self.path)

    @functools.cached_property
    def spec(self) -> DataSpec:
        """The data spec the network was trained with: its readers and preprocessing."""
        return spec_from_run_config(self.run_config)

    @property
    def preprocess(self) -> PreprocessConfig:
        """The preprocessing the network was trained with."""
        return self.spec.preprocess


def resolve_checkpoints(
    specs: str | Path | Sequence[str | Path], allow_partial: bool = False
) -> list[Path]:
    """The checkpoint files named by one or more checkpoint arguments, in order.

    Args:
        specs: each a ``.ckpt`` file, a run folder (``<run>/checkpoints/best.ckpt``) or a
            cross-validation run folder (``<run>/fold_<k>/checkpoints/best.ckpt``, all folds
            in fold order, every one finished).
        allow_partial: accept a cross-validation folder with missing or unfinished folds,
            using its finished folds only.

    Raises:
        ConfigError: for an empty list, an argument that names no checkpoint (the message
            lists what was looked for), or a partial cross-validation folder.
    """
    items = [specs] if isinstance(specs, str | Path) else list(specs)
    if not items:
        raise ConfigError("checkpoint: give a .ckpt file, a run folder or a CV run folder")
    paths: list[Path] = []
    for item in items:
        paths += _resolve_one(Path(str(item)).expanduser(), allow_partial)
    duplicated = sorted({str(p) for p in paths if paths.count(p) > 1})
    if duplicated:
        raise ConfigError(f"checkpoint: {duplicated[0]} is named more than once")
    return paths


def _resolve_one(path: Path, allow_partial: bool) -> list[Path]:
    if path.is_file():
        if path.suffix != CHECKPOINT_SUFFIX:
            raise ConfigError(f"checkpoint: {path} is not a {CHECKPOINT_SUFFIX} file")
        return [path]
    if not path.exists():
        raise ConfigError(f"checkpoint: {path} does not exist")
    folder = RunFolder(path).final  # a multi-stage run's model is its last stage
    if folder.best_checkpoint.is_file():
        if not folder.finished:
            log.warning(
                "%s did not finish (no %s): using the best checkpoint it reached",
                path,
                METRICS_FILE,
            )
        return [folder.best_checkpoint]
    found = finished_fold_checkpoints(folder, allow_partial)
    if found:
        return found
    raise ConfigError(
        f"checkpoint: no checkpoint in {path}: expected {BEST_CHECKPOINT_PATH} (a run folder) "
        f"or fold_<k>/{BEST_CHECKPOINT_PATH} (a cross-validation run folder), or pass a .ckpt file"
    )


def load_checkpoint(
    path: Path, device: torch.device | str = "cpu", max_parameters: int = MAX_PARAMETERS
) -> LoadedCheckpoint:
    """Rebuild the network of a training checkpoint and load its weights, strictly.

    The stored config is validated and the network it describes compared with the stored
    tensors before anything is allocated (:mod:`lus_unet.evaluation.stored_network`).

    Args:
        path: a ``.ckpt`` file written by ``python -m lus_unet.train``.
        device: where to put the network.
        max_parameters: refuse a stored config describing a larger network.

    Raises:
        WeightsError: a file that is unreadable, carries pickled code, is not a training
            checkpoint of this project, stores a config the schema refuses or a network
            above the limit, or whose tensors do not match that network.
    """
    path = Path(path)
    checkpoint = load_state_dict_file(path)  # weights_only=True: refuses pickled code
    hparams = checkpoint.get("hyper_parameters")
    run_config = hparams.get("run_config") if isinstance(hparams, dict) else None
    state = checkpoint.get("state_dict")
    if not isinstance(run_config, dict) or not isinstance(state, dict):
        raise WeightsError(
            f"{path}: not a lus_unet training checkpoint (no state_dict or "
            "hyper_parameters.run_config)"
        )
    check_stored_config(path, run_config)
    foreign = sorted(str(k) for k in state if not str(k).startswith(NET_PREFIX))
    if foreign:
        raise WeightsError(f"{path}: unexpected tensors outside the network: {foreign[:5]}")
    weights = {k[len(NET_PREFIX) :]: v for k, v in state.items()}
    options = model_options(run_config)
    check_network_fits(path, options, weights, max_parameters)
    net = build_model(**options)
    try:
        net.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        detail = " ".join(line.strip() for line in str(error).splitlines())[:400]
        raise WeightsError(f"{path}: weights do not match {options['name']}: {detail}") from error
    log.info("Loaded %s (%s)", path, options["name"])
    return LoadedCheckpoint(path, net.to(device).eval(), run_config)


def load_checkpoints(
    paths: Sequence[Path], device: torch.device | str, max_parameters: int = MAX_PARAMETERS
) -> list[LoadedCheckpoint]:
    """Load several checkpoints that form one ensemble: they must share their preprocessing.

    Args:
        paths: checkpoint files, e.g. from :func:`resolve_checkpoints`.
        device: where to put the networks.
        max_parameters: refuse a checkpoint describing a larger network (see
            :func:`load_checkpoint`).

    Raises:
        ConfigError: when two checkpoints were trained with different preprocessing (their
            probabilities could not be averaged over the same input).
    """
    loaded = [load_checkpoint(path, device, max_parameters) for path in paths]
    reference = loaded[0]
    for other in loaded[1:]:
        if other.preprocess != reference.preprocess:
            raise ConfigError(
                f"checkpoints {reference.path} and {other.path} were trained with different "
                f"preprocessing ({reference.preprocess} vs {other.preprocess}); "
                "an ensemble needs identical inputs"
            )
    return loaded


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when available, else the CPU), or a torch device name such as ``cuda:1``.

    Args:
        name: the configured device.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ConfigError(f"device: {name!r} is not a device (auto, cpu, cuda, cuda:1)") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device: {name!r} requested but CUDA is not available")
    return device
