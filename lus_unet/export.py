"""Export trained models: ``python -m lus_unet.export checkpoint=<ckpt|run|CV run> format=onnx``.

Each model becomes one file (``.onnx`` or TorchScript ``.pt``) with a free batch axis whose
graph maps network inputs to probabilities, and whose metadata holds everything
``python -m lus_unet.predict exported=<file>`` needs: the training run's reader and
preprocessing, the input size, the threshold, the model's name and the source checkpoints'
SHA-256 (:mod:`lus_unet.deploy.metadata`). A cross-validation folder gives one file per
finished fold, or with ``average=true`` one graph averaging them. Every written graph is run
once against the network it came from before the command reports success.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from lus_unet.config.export import ExportConfig
from lus_unet.config.validate import validate
from lus_unet.deploy.exporter import (
    SUFFIXES,
    ProbabilityGraph,
    build_metadata,
    check_against,
    write_onnx,
    write_torchscript,
)
from lus_unet.deploy.runtime import load_exported
from lus_unet.errors import ConfigError
from lus_unet.evaluation.checkpoints import (
    LoadedCheckpoint,
    load_checkpoint,
    load_checkpoints,
    resolve_checkpoints,
)
from lus_unet.run_folder import BEST_CHECKPOINT, run_dir_of
from lus_unet.utils import command

log = logging.getLogger(__name__)


def export(cfg: DictConfig) -> dict[str, Any]:
    """Export as configured (``conf/export.yaml``); returns the files written.

    Args:
        cfg: the export configuration.
    """
    validate(cfg, ExportConfig)
    _check_deploy_extra(cfg.format)
    paths = resolve_checkpoints(cfg.checkpoint, cfg.allow_partial)
    if cfg.average or len(paths) == 1:
        groups = [load_checkpoints(paths, "cpu", cfg.max_parameters)]
    else:
        groups = [[load_checkpoint(path, "cpu", cfg.max_parameters)] for path in paths]
    suffix = ".int8.onnx" if cfg.quantize == "int8" else SUFFIXES[cfg.format]
    targets = output_files(Path(cfg.output).expanduser(), [_label(g) for g in groups], suffix)
    written = []
    for group, target in zip(groups, targets, strict=True):
        metadata = build_metadata(group)
        graph = ProbabilityGraph([m.net for m in group]).eval()
        if cfg.quantize == "int8":
            _write_int8(graph, target, metadata)
            log.info("Exported %s (int8, %d model(s)) -> %s", metadata["model"], len(group), target)
        else:
            write = write_onnx if cfg.format == "onnx" else write_torchscript
            write(graph, target, metadata)
            difference = check_against(graph, load_exported(target, "cpu"), metadata)
            log.info(
                "Exported %s (%d model(s)) -> %s (max probability difference to the "
                "checkpoint's network: %.1e)",
                metadata["model"],
                len(group),
                target,
                difference,
            )
        written.append(str(target))
    return {"files": written, "checkpoints": [str(p) for p in paths]}


def output_files(output: Path, labels: Sequence[str], suffix: str) -> list[Path]:
    """Where each model's file goes: ``output`` itself when it names one file, else
    ``output/<label><suffix>``; refused when any already exists (nothing is overwritten).

    Args:
        output: the configured ``output``.
        labels: one name per file (run or fold folder names).
        suffix: the files' suffix (``.onnx``, ``.pt``, ``.int8.onnx``).
    """
    extension = "." + suffix.rsplit(".", 1)[-1]  # .int8.onnx files are .onnx files
    if output.suffix in SUFFIXES.values():
        if output.suffix != extension:
            raise ConfigError(f"output={output}: this export writes {extension} files")
        if len(labels) > 1:
            raise ConfigError(
                f"output={output}: {len(labels)} models to export (a CV folder); give a folder, "
                "or average=true for one graph averaging them"
            )
        targets = [output]
    else:
        if len(set(labels)) < len(labels):
            raise ConfigError(f"checkpoint: two models would both be written as {labels}")
        targets = [output / f"{label}{suffix}" for label in labels]
    taken = [target for target in targets if target.exists()]
    if taken:
        raise ConfigError(f"{taken[0]} already exists; refusing to overwrite it")
    return targets


def _label(group: Sequence[LoadedCheckpoint]) -> str:
    """A file name stem: the run (or fold) folder's name, or ``ensemble_of_<n>``."""
    if len(group) > 1:
        return f"ensemble_of_{len(group)}"
    path = group[0].path
    name = run_dir_of(path).name
    return name if path.stem == BEST_CHECKPOINT else f"{name}_{path.stem}"


def _write_int8(graph: ProbabilityGraph, target: Path, metadata: dict[str, Any]) -> None:
    """The float32 graph to a scratch folder, then its dynamic int8 version to ``target``."""
    from lus_unet.deploy.quantize import write_int8

    with tempfile.TemporaryDirectory() as scratch:
        float_file = Path(scratch) / "float32.onnx"
        write_onnx(graph, float_file, metadata)
        write_int8(float_file, target, metadata)


def _check_deploy_extra(fmt: str) -> None:
    """ONNX export needs ``onnx`` and ``onnxruntime`` (the self-check runs the graph)."""
    if fmt != "onnx":
        return
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as error:
        raise ConfigError(
            f"format=onnx needs the [deploy] extra ({error.name} is missing): "
            "pip install -e '.[deploy]'"
        ) from None


main = command(export, "export")

if __name__ == "__main__":
    main()
