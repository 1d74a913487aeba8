"""The networks (plain ``nn.Module``s) and the functions that build and freeze them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from lus_unet.models.blocks import ACTIVATIONS, NORMS
from lus_unet.models.groups import PARAMETER_GROUPS, freeze_groups, group_counts
from lus_unet.models.reference import ReferenceUNet, build_reference
from lus_unet.models.vunet import ENCODERS, VUNet
from lus_unet.models.weights import load_encoder_weights, resolve_encoder_weights
from lus_unet.models.xunet import XUNet

__all__ = [
    "ACTIVATIONS",
    "ENCODERS",
    "MODEL_NAMES",
    "NORMS",
    "PARAMETER_GROUPS",
    "ReferenceUNet",
    "VUNet",
    "XUNet",
    "build_model",
    "build_reference",
    "build_vunet",
    "freeze_groups",
    "group_counts",
]


def build_vunet(
    decoder_convs: Sequence[int] = (3, 3, 2, 2),
    encoder: str = "vgg16",
    encoder_weights: str | None = "imagenet",
    allow_download: bool = True,
    norm: str = "none",
    activation: str = "relu",
) -> VUNet:
    """Build V-UNet and load its encoder weights.

    Args:
        decoder_convs: convolutions per decoder level, deepest first.
        encoder: ``vgg16`` (the paper) or ``vgg16_bn``.
        encoder_weights: ``"imagenet"``, None (random initialisation) or a path to a
            torchvision-format state-dict file of the encoder (``vgg16-397923af.pth``,
            ``vgg16_bn-6c64b313.pth``).
        allow_download: whether missing ImageNet weights may be downloaded (announced).
        norm: the decoder's normalisation, ``none`` (the paper), ``batch``, ``instance``,
            ``group``.
        activation: the decoder's activation, ``relu`` (the paper) or ``leaky_relu``.
    """
    model = VUNet(decoder_convs=decoder_convs, encoder=encoder, norm=norm, activation=activation)
    weights = resolve_encoder_weights(encoder_weights, allow_download, encoder)
    if weights is not None:
        load_encoder_weights(model.encoder, weights)
    return model


BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "xunet": XUNet,
    "vunet": build_vunet,
    "reference": build_reference,  # MONAI BasicUNet (DESIGN section 6), optional extra
}
MODEL_NAMES = tuple(BUILDERS)


def build_model(name: str, **options: Any) -> nn.Module:
    """Build a network by name.

    The names and options are checked by the config schema (:mod:`lus_unet.config.model`)
    before this is called.

    Args:
        name: a key of :data:`BUILDERS`.
        **options: the ``model`` config's other keys, the builder's keyword arguments.
    """
    return BUILDERS[name](**options)
