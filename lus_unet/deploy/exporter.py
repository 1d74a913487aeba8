"""Writing trained networks as ONNX or TorchScript graphs with their metadata.

The graph maps a batch of network inputs (N, 3, H, W), N free, to probabilities (N, 1, H, W):
the sigmoid is inside, and so is the mean over several networks when a cross-validation
folder is exported as one averaged graph, so a runtime only feeds frames and thresholds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import lus_unet
from lus_unet.data.network_input import IN_CHANNELS
from lus_unet.deploy.metadata import (
    FORMAT,
    INPUT_NAME,
    METADATA_KEY,
    OUTPUT_NAME,
    VERSION,
    metadata_text,
    reader_fields,
)
from lus_unet.errors import ConfigError
from lus_unet.evaluation.checkpoints import LoadedCheckpoint
from lus_unet.evaluation.prediction_files import link_new_file

log = logging.getLogger(__name__)

SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
TORCHSCRIPT_METADATA = f"{METADATA_KEY}.json"  # the TorchScript archive's extra file
# opset 17: every operator of the three networks, and what onnxruntime >= 1.14 runs.
ONNX_OPSET = 17
_EXAMPLE_BATCH = 2
# Largest difference between the written graph and the network on the example batch that
# export accepts: float32 rounding of a reordered sum, far below predict's parity bound 1e-4.
_SELF_CHECK_ATOL = 1e-5


class ProbabilityGraph(nn.Module):
    """Mean sigmoid probability of one or more networks (one network: its sigmoid exactly).

    Args:
        nets: networks in eval mode taking the same input.
    """

    def __init__(self, nets: Sequence[nn.Module]) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        total = torch.sigmoid(self.nets[0](image))
        for net in self.nets[1:]:
            total = total + torch.sigmoid(net(image))
        return total if len(self.nets) == 1 else total / len(self.nets)


def sha256_of(path: Path) -> str:
    """The SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_metadata(
    models: Sequence[LoadedCheckpoint], precision: str = "float32"
) -> dict[str, Any]:
    """The metadata document of a graph made of ``models`` (one, or several averaged).

    Everything comes from the first model's stored run configuration through its data spec
    (:func:`lus_unet.data.spec.spec_from_run_config`); averaged models share their
    preprocessing (:func:`lus_unet.evaluation.checkpoints.load_checkpoints` checks it).

    Args:
        models: the loaded checkpoints.
        precision: ``float32``, or ``int8`` for a quantised graph.
    """
    first = models[0]
    spec = first.spec
    run = first.run_config
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": str(run["model"]["name"]),
        "model_config": dict(run["model"]),
        "members": [
            {
                "checkpoint": str(m.path),
                "sha256": sha256_of(m.path),
                "fold": m.run_config.get("fold"),
            }
            for m in models
        ],
        "averaged": len(models) > 1,
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_channels": IN_CHANNELS,
        "input_size": list(spec.preprocess.image_size),
        "threshold": float(run.get("threshold", 0.5)),
        "batch_size": int(run["data"]["batch_size"]),
        "data_kind": spec.kind,
        "preprocess": {
            **{k: getattr(spec.preprocess, k) for k in spec.preprocess.__dataclass_fields__},
            "image_size": list(spec.preprocess.image_size),
        },
        "read": reader_fields(spec.read),
        "precision": precision,
        "exported_with": {"lus_unet": lus_unet.__version__, "torch": torch.__version__},
    }


def example_input(metadata: dict[str, Any], batch: int = _EXAMPLE_BATCH) -> torch.Tensor:
    """A seeded random input of the graph's shape (tracing and the self-check)."""
    generator = torch.Generator().manual_seed(0)
    size = (batch, metadata["input_channels"], *metadata["input_size"])
    return torch.rand(size, generator=generator)


def write_onnx(graph: nn.Module, path: Path, metadata: dict[str, Any]) -> None:
    """Write ``graph`` as ONNX with a free batch axis and the metadata; never overwrites.

    torch's TorchScript-based exporter (``dynamo=False``) is used: the torch.export-based one
    needs the ``onnxscript`` package and gains nothing for these plain convolutional graphs.
    """
    import onnx  # the [deploy] extra, checked by the export command

    x = example_input(metadata)

    def write(tmp: Path) -> None:
        with warnings.catch_warnings(), torch.no_grad():
            # The legacy exporter announces its deprecation on every call.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                graph,
                (x,),
                str(tmp),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                opset_version=ONNX_OPSET,
                dynamo=False,
            )
        proto = onnx.load(str(tmp))
        entry = proto.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, metadata_text(metadata)
        proto.doc_string = f"{metadata['model']} exported by lus_unet {lus_unet.__version__}"
        onnx.save(proto, str(tmp))

    create_file(path, write)


def write_torchscript(graph: nn.Module, path: Path, metadata: dict[str, Any]) -> None:
    """Write ``graph`` as a traced TorchScript archive with the metadata; never overwrites."""
    x = example_input(metadata)

    def write(tmp: Path) -> None:
        with warnings.catch_warnings(), torch.no_grad():
            # torch marks TorchScript deprecated in favour of torch.export, whose archives a
            # torch-free runtime cannot run either; the traced graph is what predict loads.
            warnings.simplefilter("ignore", FutureWarning)
            traced = torch.jit.trace(graph, x)
            torch.jit.save(
                traced, str(tmp), _extra_files={TORCHSCRIPT_METADATA: metadata_text(metadata)}
            )

    create_file(path, write)


def check_against(
    graph: nn.Module, run: Callable[[np.ndarray], np.ndarray], metadata: dict[str, Any]
) -> float:
    """The largest probability difference between a written graph and ``graph``; refuses more
    than float32 rounding (an exporter bug must not reach a user's predictions).

    Args:
        graph: the torch graph that was exported.
        run: the written file's graph, loaded by :mod:`lus_unet.deploy.runtime`.
        metadata: its metadata.
    """
    x = example_input(metadata, batch=_EXAMPLE_BATCH + 1)  # another batch size than traced
    with torch.no_grad():
        expected = graph(x).numpy()
    difference = float(np.abs(run(x.numpy()) - expected).max())
    if difference > _SELF_CHECK_ATOL:
        raise ConfigError(f"the exported graph differs from the network by {difference:.2e}")
    return difference


def create_file(path: Path, write: Callable[[Path], None]) -> None:
    """Create ``path`` whole or not at all via ``write(temporary path)``; never replace a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        link_new_file(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
