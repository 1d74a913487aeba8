"""Checking a checkpoint's stored config and tensors before its network is built.

A checkpoint is untrusted input: its stored configuration decides which network is built, so
a hand-edited file could name an unknown model or data set, or describe a network of
hundreds of GB (``base_channels=4096`` in a 1.5 MB file). The configuration is validated
against the schema first, then the network it describes is built on PyTorch's ``meta``
device (shapes only, no memory) and compared with the stored tensors and a size limit; only
then is the real network allocated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from lus_unet.config.checkpoint import StoredRunConfig
from lus_unet.config.validate import validate
from lus_unet.errors import ConfigError, LusUnetError, WeightsError
from lus_unet.models import build_model

# 16x the largest network of the paper (X-UNet, 31 M parameters); 2 GB of float32 weights.
MAX_PARAMETERS = 500_000_000
_SHOWN = 5


def check_stored_config(path: Path, run_config: dict[str, Any]) -> None:
    """Refuse a stored configuration the schema refuses, in one line naming the file.

    Args:
        path: the checkpoint file.
        run_config: its ``hyper_parameters.run_config``.

    Raises:
        WeightsError: the first refused value, e.g. an unknown ``model.name``.
    """
    try:
        validate(run_config, StoredRunConfig)
    except ConfigError as error:
        raise WeightsError(f"{path}: its stored training config is refused: {error}") from error


def model_options(run_config: dict[str, Any]) -> dict[str, Any]:
    """The ``build_model`` arguments of a validated stored config; no weights are downloaded.

    Args:
        run_config: a stored configuration that passed :func:`check_stored_config`.
    """
    options = dict(run_config["model"])
    if "encoder_weights" in options:
        options["encoder_weights"] = None  # the checkpoint holds every weight
    return options


def check_network_fits(
    path: Path, options: dict[str, Any], state: dict[str, Any], max_parameters: int
) -> None:
    """Compare the network ``options`` describe with the stored tensors, allocating nothing.

    Args:
        path: the checkpoint file.
        options: :func:`model_options`.
        state: the network's stored tensors, names without the module prefix.
        max_parameters: the largest network accepted (``max_parameters`` of the config).

    Raises:
        WeightsError: a stored value that is no tensor, a network above the limit, or tensors
            whose names or shapes differ from the network's.
    """
    name = options["name"]
    not_tensors = sorted(str(k) for k, v in state.items() if not isinstance(v, torch.Tensor))
    if not_tensors:
        raise WeightsError(
            f"{path}: state_dict entries that are not tensors: {not_tensors[:_SHOWN]}"
        )
    try:
        with torch.device("meta"):  # shapes only: nothing is allocated however large
            planned = build_model(**options).state_dict()
    except LusUnetError:
        raise
    except (RuntimeError, ValueError, TypeError) as error:
        message = f"{path}: cannot build {name} from its stored config: {error}"
        raise WeightsError(message) from error
    size = sum(tensor.numel() for tensor in planned.values())
    if size > max_parameters:
        raise WeightsError(
            f"{path}: its stored config describes a {name} of {size:,} parameters, above "
            f"max_parameters={max_parameters}; refused before building it"
        )
    problems = _differences(planned, state)
    if problems:
        raise WeightsError(f"{path}: weights do not match {name}: {'; '.join(problems)}")


def _differences(planned: dict[str, torch.Tensor], stored: dict[str, torch.Tensor]) -> list[str]:
    """What differs between the network's tensors and the file's: shapes, missing, extra."""
    shapes = [
        f"{key} {tuple(stored[key].shape)} in the file != {tuple(tensor.shape)}"
        for key, tensor in planned.items()
        if key in stored and stored[key].shape != tensor.shape
    ]
    missing = sorted(set(planned) - set(stored))
    extra = sorted(set(stored) - set(planned))
    return [
        f"{label}: {', '.join(names[:_SHOWN])}{' ...' if len(names) > _SHOWN else ''}"
        for label, names in (
            ("shape mismatch", shapes),
            ("missing in the file", missing),
            ("not in the network", extra),
        )
        if names
    ]
