"""The schema of the ``model`` and ``finetune`` groups, and of ``python -m lus_unet.summary``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from lus_unet.config.rules import AtLeast, Explain, Length, OneOf, Range
from lus_unet.models import ACTIVATIONS, ENCODERS, NORMS, PARAMETER_GROUPS

Norm = Annotated[str, OneOf(NORMS)]
Activation = Annotated[str, OneOf(ACTIVATIONS)]
# A bound, so that a hand-edited checkpoint or a typo cannot make building the network hang.
MAX_DECODER_CONVS = 16
DecoderConvs = Annotated[
    list[Annotated[int, Range(ge=1, le=MAX_DECODER_CONVS)]],
    Length(4),
    Explain(
        f"needs 4 integers from 1 to {MAX_DECODER_CONVS}: the convolutions of each decoder "
        "level, deepest first"
    ),
]


@dataclass
class XUNetModel:
    """``conf/model/xunet.yaml``: :class:`lus_unet.models.XUNet`'s arguments."""

    name: Literal["xunet"]
    base_channels: Annotated[int, AtLeast(1)]
    decoder_convs: DecoderConvs
    norm: Norm
    activation: Activation


@dataclass
class VUNetModel:
    """``conf/model/vunet.yaml``: :func:`lus_unet.models.build_vunet`'s arguments."""

    name: Literal["vunet"]
    encoder: Annotated[str, OneOf(ENCODERS)]
    encoder_weights: str | None
    allow_download: bool
    decoder_convs: DecoderConvs
    norm: Norm
    activation: Activation


@dataclass
class ReferenceModel:
    """``conf/model/reference.yaml``: :func:`lus_unet.models.build_reference`'s arguments."""

    name: Literal["reference"]
    features: Annotated[
        list[Annotated[int, Range(ge=1)]],
        Length(6),
        Explain("needs 6 integers >= 1: BasicUNet's widths (4 encoder levels, bottleneck, last)"),
    ]


Model = XUNetModel | VUNetModel | ReferenceModel


@dataclass
class Finetune:
    """``conf/finetune/*.yaml``: the parameter groups kept frozen."""

    name: str
    freeze: list[Annotated[str, OneOf(PARAMETER_GROUPS)]]


@dataclass
class SummaryConfig:
    """``conf/summary.yaml``: ``python -m lus_unet.summary``."""

    model: Model
    finetune: Finetune
