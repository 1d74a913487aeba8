"""What an exported model file says about itself: everything predict needs besides the graph.

An exported file (``python -m lus_unet.export``) carries one JSON document under the key
:data:`METADATA_KEY` (ONNX ``metadata_props``, a TorchScript extra file): the training run's
reader and preprocessing (rebuilt through :func:`lus_unet.data.spec.spec_from_run_config` at
export time), the network's input size, the threshold, the model's name and the SHA-256 of
every source checkpoint. A file is untrusted input like a checkpoint: its document is checked
against :class:`ExportedMetadata` before anything is read from it, and a file without one, or
with another program's, is refused in one line naming the file.

Torch-free on purpose: predicting with an exported file needs neither torch nor Lightning.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from lus_unet.config.data import Positive
from lus_unet.config.rules import Length, Matches, NotEmpty, Range
from lus_unet.config.validate import validate
from lus_unet.data.frames import ReadOptions
from lus_unet.data.preprocess import PreprocessConfig
from lus_unet.errors import ConfigError, LusUnetError, WeightsError

METADATA_KEY = "lus_unet"
FORMAT = "lus_unet.exported_model"
VERSION = 1
INPUT_NAME, OUTPUT_NAME = "image", "probability"
# Reading a document larger than this is not worth it: a genuine one is about 2 kB.
MAX_METADATA_CHARS = 1_000_000


@dataclass
class Member:
    """One training checkpoint that went into the graph."""

    checkpoint: str
    sha256: Annotated[str, Matches(r"[0-9a-f]{64}", "a SHA-256 hex digest")]
    fold: Annotated[int | None, Range(ge=0)]


@dataclass
class ExportedMetadata:
    """The schema of an exported file's metadata document (version 1)."""

    open_keys: ClassVar[bool] = False

    format: Literal["lus_unet.exported_model"]
    version: Literal[1]
    model: str
    model_config: dict[str, Any]
    # Checked one by one against Member (the schema walker has no list-of-groups type).
    members: Annotated[list[Any], NotEmpty()]
    averaged: bool
    input_name: str
    output_name: str
    input_channels: Positive
    input_size: Annotated[list[Positive], Length(2)]
    threshold: Annotated[float, Range(gt=0, lt=1)]
    batch_size: Positive
    data_kind: str
    # The fields of PreprocessConfig and ReadOptions, checked by constructing them: their
    # own validation, whatever fields the data package adds later.
    preprocess: dict[str, Any]
    read: dict[str, Any]
    precision: Literal["float32", "int8"]
    exported_with: dict[str, str]


@dataclass(frozen=True)
class ModelInfo:
    """An exported file's checked metadata, with the objects predict builds from it.

    Attributes:
        path: the exported file.
        data: the metadata document (checked against :class:`ExportedMetadata`).
    """

    path: Path
    data: dict[str, Any]

    @property
    def preprocess(self) -> PreprocessConfig:
        """The training run's preprocessing."""
        return PreprocessConfig(**self.data["preprocess"])

    @property
    def read(self) -> ReadOptions:
        """The training run's reader (MAT variable, cine frame axis, file types, pixel limit)."""
        fields = dict(self.data["read"])
        return ReadOptions(**{**fields, "suffixes": tuple(fields["suffixes"])})

    @property
    def threshold(self) -> float:
        """The probability above which a pixel is rib, as the training run validated."""
        return float(self.data["threshold"])

    @property
    def batch_size(self) -> int:
        """The batch size the model trained with (predict's default)."""
        return int(self.data["batch_size"])

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the graph's input."""
        height, width = self.data["input_size"]
        return int(height), int(width)


def metadata_text(data: dict[str, Any]) -> str:
    """The document as stored: compact, keys in order.

    Args:
        data: a metadata document (see :func:`lus_unet.deploy.exporter.build_metadata`).
    """
    return json.dumps(data, separators=(",", ":"))


def parse_metadata(path: Path, text: str | bytes | None) -> ModelInfo:
    """The checked metadata of an exported file, or a one-line refusal naming the file.

    Args:
        path: the exported file (for the message).
        text: the stored document (None: the file has none).

    Raises:
        WeightsError: no document, not JSON, another program's, or a value the schema refuses.
    """
    if not text:
        raise WeightsError(
            f"{path}: no {METADATA_KEY} metadata: not a model exported by "
            "python -m lus_unet.export (export the checkpoint with it)"
        )
    if len(text) > MAX_METADATA_CHARS:
        raise WeightsError(f"{path}: its {METADATA_KEY} metadata is implausibly large; refused")
    try:
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WeightsError(f"{path}: its {METADATA_KEY} metadata is not JSON ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise WeightsError(
            f"{path}: foreign {METADATA_KEY} metadata (format {found!r}, expected {FORMAT!r}); "
            "export the checkpoint with python -m lus_unet.export"
        )
    try:
        validate(data, ExportedMetadata)
        for index, member in enumerate(data["members"]):
            validate(member, Member, f"members.{index}")
        info = ModelInfo(path, data)
        info.preprocess, info.read  # noqa: B018 - constructing them checks their values
    except (ConfigError, TypeError) as error:
        raise WeightsError(f"{path}: its {METADATA_KEY} metadata is refused: {error}") from None
    except LusUnetError:
        raise
    return info


def reader_fields(read: ReadOptions) -> dict[str, Any]:
    """A reader's fields as a JSON-able dict (the ``read`` entry)."""
    fields = dataclasses.asdict(read)
    fields["suffixes"] = list(read.suffixes)
    return fields
