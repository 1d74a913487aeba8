"""Dynamic int8 quantisation of an exported ONNX graph (onnxruntime's quantiser).

Weights of every convolution and matrix product are stored as int8 and activations are
quantised on the fly per tensor (``ConvInteger``), so no calibration data is needed; the
transposed convolutions of the decoders stay float32 (onnxruntime has no integer kernel for
them). ``make bench`` reports the Dice lost on the embedded validation split
(``int8_dice_drop``).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from lus_unet.deploy.exporter import create_file
from lus_unet.deploy.metadata import METADATA_KEY, metadata_text


def write_int8(float_onnx: Path, path: Path, metadata: dict[str, Any]) -> None:
    """Write the dynamic int8 version of ``float_onnx`` to ``path``; never overwrites.

    Args:
        float_onnx: a float32 graph written by :func:`lus_unet.deploy.exporter.write_onnx`.
        path: the quantised file.
        metadata: the float graph's metadata document; stored with ``precision: int8``.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def write(tmp: Path) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            # The quantiser writes intermediate files beside its output: keep them out of it.
            staged = Path(scratch) / "int8.onnx"
            root = logging.getLogger()
            level = root.level
            # The quantiser logs a line per tensor at INFO on the root logger.
            root.setLevel(max(level, logging.WARNING))
            try:
                quantize_dynamic(float_onnx, staged, weight_type=QuantType.QInt8)
            finally:
                root.setLevel(level)
            proto = onnx.load(str(staged))
        del proto.metadata_props[:]
        entry = proto.metadata_props.add()
        entry.key = METADATA_KEY
        entry.value = metadata_text({**metadata, "precision": "int8"})
        onnx.save(proto, str(tmp))

    create_file(path, write)
