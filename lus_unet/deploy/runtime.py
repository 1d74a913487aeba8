"""Running exported models: onnxruntime for ``.onnx`` files (no torch), TorchScript for ``.pt``.

A file's metadata is checked (:mod:`lus_unet.deploy.metadata`) and its graph's input compared
with it before the first frame is fed; an ensemble of files must share their preprocessing.
Predicting through an ONNX file imports neither torch nor Lightning: this is the runtime of a
workstation next to a scanner, with only ``onnxruntime`` installed beside the package's
readers.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from lus_unet.deploy.metadata import METADATA_KEY, ModelInfo, parse_metadata
from lus_unet.errors import ConfigError, WeightsError

log = logging.getLogger(__name__)

ONNX_SUFFIX, TORCHSCRIPT_SUFFIX = ".onnx", ".pt"
TORCHSCRIPT_METADATA = f"{METADATA_KEY}.json"
_REASON_CHARS = 200


class ExportedNetwork(Protocol):
    """A loaded exported file: (N, 3, H, W) float32 inputs -> (N, 1, H, W) probabilities."""

    info: ModelInfo

    def __call__(self, x: np.ndarray) -> np.ndarray: ...


def cpu_threads() -> int:
    """Threads for onnxruntime: ``OMP_NUM_THREADS`` if set (as torch honours it), else the cores
    this process may use (onnxruntime's own thread pool ignores the variable)."""
    configured = os.environ.get("OMP_NUM_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def onnx_session(
    path: Path, threads: int | None = None, device: str = "auto", profile: Path | None = None
) -> Any:
    """An onnxruntime session of ``path`` with every graph optimisation on.

    Args:
        path: an ONNX file.
        threads: intra-op threads (None: :func:`cpu_threads`).
        device: ``auto`` (CUDA when onnxruntime has it), ``cpu`` or ``cuda[:k]``.
        profile: record every kernel's time into a JSON file named from this prefix
            (``end_profiling()`` returns its path); None: no profiling.

    Raises:
        WeightsError: a file onnxruntime cannot read.
    """
    ort = _onnxruntime(path)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or cpu_threads()
    options.log_severity_level = 3  # errors only: its warnings are about optimiser choices
    if profile is not None:
        options.enable_profiling = True
        options.profile_file_prefix = str(profile)
    try:
        return ort.InferenceSession(str(path), options, providers=_providers(ort, device))
    except Exception as error:  # onnxruntime raises its own untyped errors for bad files
        raise WeightsError(f"{path}: not a readable ONNX model ({_reason(error)})") from None


class OnnxNetwork:
    """An ``.onnx`` file run by onnxruntime with every graph optimisation on.

    Args:
        path: the file.
        threads: intra-op threads (None: :func:`cpu_threads`).
        device: ``auto`` (CUDA when onnxruntime has it), ``cpu`` or ``cuda[:k]``.
    """

    def __init__(self, path: Path, threads: int | None = None, device: str = "auto") -> None:
        self.session = onnx_session(path, threads, device)
        meta = self.session.get_modelmeta().custom_metadata_map
        self.info = parse_metadata(path, meta.get(METADATA_KEY))
        inputs = self.session.get_inputs()
        shape = list(inputs[0].shape[1:]) if len(inputs) == 1 else None
        _check_input(self.info, inputs[0].name if len(inputs) == 1 else None, shape)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        feed = {self.info.data["input_name"]: np.ascontiguousarray(x, dtype=np.float32)}
        return self.session.run([self.info.data["output_name"]], feed)[0]


class TorchScriptNetwork:
    """A ``.pt`` TorchScript archive run by torch (imported here only).

    Args:
        path: the file.
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda[:k]``.
    """

    def __init__(self, path: Path, device: str = "auto") -> None:
        import torch

        self.torch = torch
        self.device = torch.device(
            "cuda"
            if device == "auto" and torch.cuda.is_available()
            else ("cpu" if device == "auto" else device)
        )
        extra = {TORCHSCRIPT_METADATA: ""}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # TorchScript's deprecation
                self.module = torch.jit.load(
                    str(path), map_location=self.device, _extra_files=extra
                )
        except Exception as error:  # torch raises RuntimeError or its own errors for bad files
            raise WeightsError(
                f"{path}: not a readable TorchScript archive ({_reason(error)})"
            ) from None
        self.info = parse_metadata(path, extra[TORCHSCRIPT_METADATA])
        _check_input(self.info, self.info.data["input_name"], None)
        self.module.eval()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            out = self.module(
                self.torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
            )
        return out.float().cpu().numpy()


def load_exported(path: Path, device: str = "auto", threads: int | None = None) -> ExportedNetwork:
    """Load an exported file by its suffix, metadata checked.

    Args:
        path: a ``.onnx`` or ``.pt`` file written by ``python -m lus_unet.export``.
        device: ``auto``, ``cpu`` or ``cuda[:k]``.
        threads: onnxruntime's intra-op threads (None: :func:`cpu_threads`).

    Raises:
        WeightsError: a missing file, another suffix, an unreadable graph, missing or foreign
            metadata, or a graph whose input differs from its metadata.
    """
    if not path.is_file():
        raise WeightsError(f"exported: {path} does not exist")
    if path.suffix == ONNX_SUFFIX:
        network: ExportedNetwork = OnnxNetwork(path, threads, device)
    elif path.suffix == TORCHSCRIPT_SUFFIX:
        network = TorchScriptNetwork(path, device)
    else:
        raise WeightsError(
            f"{path}: not an exported model ({ONNX_SUFFIX} or {TORCHSCRIPT_SUFFIX} file "
            "written by python -m lus_unet.export)"
        )
    log.info("Loaded %s (%s, %s)", path, network.info.data["model"], network.info.data["precision"])
    return network


def load_exported_ensemble(
    paths: Sequence[Path], device: str = "auto", threads: int | None = None
) -> list[ExportedNetwork]:
    """Load several exported files that form one ensemble: they must share preprocessing.

    Raises:
        ConfigError: two files with different preprocessing (their inputs differ).
    """
    networks = [load_exported(path, device, threads) for path in paths]
    first = networks[0].info
    for other in networks[1:]:
        if other.info.preprocess != first.preprocess:
            raise ConfigError(
                f"models {first.path} and {other.info.path} were trained with different "
                "preprocessing; an ensemble needs identical inputs"
            )
    return networks


class ExportedEnsemble:
    """Mean probability of exported networks, optionally with flip TTA, as
    :class:`lus_unet.evaluation.inference.Ensemble` computes it for checkpoints.

    Args:
        networks: loaded files.
        tta: also feed every network the horizontally flipped frame, flipped back.
    """

    def __init__(self, networks: Sequence[ExportedNetwork], tta: bool = False) -> None:
        self.networks = list(networks)
        self.tta = tta

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W) float32 frames in [0, 1] -> (N, H, W) float32 probabilities."""
        channels = self.networks[0].info.data["input_channels"]
        # The grayscale frame repeated, as lus_unet.data.network_input.as_network_input does.
        x = np.repeat(np.asarray(images, dtype=np.float32)[:, None], channels, axis=1)
        total = np.zeros((x.shape[0], 1, *x.shape[2:]), dtype=np.float32)
        for network in self.networks:
            total += network(x)
            if self.tta:
                total += network(x[..., ::-1])[..., ::-1]
        terms = len(self.networks) * (2 if self.tta else 1)
        return (total / terms)[:, 0]


def _check_input(info: ModelInfo, name: str | None, shape: list[Any] | None) -> None:
    """Refuse a graph whose input is not what its metadata describes."""
    expected = [info.data["input_channels"], *info.input_size]
    if name != info.data["input_name"] or (shape is not None and shape != expected):
        raise WeightsError(
            f"{info.path}: its graph's input ({name} {shape}) does not match its metadata "
            f"({info.data['input_name']} [N, {', '.join(map(str, expected))}])"
        )


def _onnxruntime(path: Path) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise ConfigError(
            f"exported={path} needs onnxruntime: pip install -e '.[deploy]' (or onnxruntime)"
        ) from None
    return onnxruntime


def _providers(ort: Any, device: str) -> list[str]:
    available = ort.get_available_providers()
    if device.startswith("cuda") or (device == "auto" and "CUDAExecutionProvider" in available):
        if "CUDAExecutionProvider" not in available:
            raise ConfigError(f"device={device}: this onnxruntime has no CUDA provider")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split())[:_REASON_CHARS]
    return f"{type(error).__name__}: {text}"
