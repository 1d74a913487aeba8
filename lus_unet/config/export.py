"""The schema of ``python -m lus_unet.export``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from lus_unet.config.data import Positive
from lus_unet.config.inference import Checkpoints
from lus_unet.errors import ConfigError


def _check_export(node: Any, key: str) -> None:
    """int8 quantisation exists for ONNX graphs only (onnxruntime's quantiser)."""
    if node["quantize"] != "none" and node["format"] != "onnx":
        raise ConfigError(
            f"quantize={node['quantize']}: needs format=onnx (TorchScript graphs stay float32)"
        )


@dataclass
class ExportConfig:
    """``conf/export.yaml``."""

    checkpoint: Checkpoints
    format: Literal["onnx", "torchscript"]
    output: str
    average: bool
    quantize: Literal["none", "int8"]
    allow_partial: bool
    max_parameters: Positive

    check_together = staticmethod(_check_export)
