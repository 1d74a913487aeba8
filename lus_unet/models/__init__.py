"""The networks (plain ``nn.Module``s) and the functions that build and freeze them."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from lus_unet.errors import ConfigError
from lus_unet.models.groups import PARAMETER_GROUPS, freeze_groups, group_counts
from lus_unet.models.vunet import VUNet
from lus_unet.models.weights import load_vgg16_encoder_weights, resolve_vgg16_weights
from lus_unet.models.xunet import XUNet

__all__ = [
    "MODEL_NAMES",
    "PARAMETER_GROUPS",
    "VUNet",
    "XUNet",
    "build_model",
    "build_vunet",
    "freeze_groups",
    "group_counts",
]


def build_vunet(
    decoder_convs: Sequence[int] = (3, 3, 2, 2),
    encoder_weights: str | None = "imagenet",
    allow_download: bool = True,
) -> VUNet:
    """Build V-UNet and load its encoder weights.

    Args:
        decoder_convs: convolutions per decoder level, deepest first.
        encoder_weights: ``"imagenet"``, None (random initialisation) or a path to a
            torchvision-format VGG16 state-dict file.
        allow_download: whether missing ImageNet weights may be downloaded (announced).
    """
    model = VUNet(decoder_convs=decoder_convs)
    weights = resolve_vgg16_weights(encoder_weights, allow_download)
    if weights is not None:
        load_vgg16_encoder_weights(model.encoder, weights)
    return model


BUILDERS: dict[str, Callable[..., nn.Module]] = {"xunet": XUNet, "vunet": build_vunet}
MODEL_NAMES = tuple(BUILDERS)


def build_model(name: str, **options: Any) -> nn.Module:
    """Build a network by name; ``options`` are the ``model`` config's other keys.

    Raises:
        ConfigError: for an unknown model name or an option the model does not take.
    """
    if name not in BUILDERS:
        raise ConfigError(f"model.name: unknown model '{name}'; valid: {', '.join(BUILDERS)}")
    builder = BUILDERS[name]
    accepted = set(inspect.signature(builder).parameters)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ConfigError(
            f"model={name}: unknown option(s) {unknown}; valid: {', '.join(sorted(accepted))}"
        )
    return builder(**options)
