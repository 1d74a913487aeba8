"""Locating and loading torchvision's ImageNet VGG16 weights into the V-UNet encoder.

Resolution order (the ecosystem's convention, made explicit): a file the user names,
else torchvision's cache (``$TORCH_HOME/hub/checkpoints``), else a download announced in
the log with a progress bar, which ``allow_download=False`` forbids. The same holds for
every encoder in :data:`ENCODER_WEIGHTS` (``model.encoder``), each with its own file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from lus_unet.errors import WeightsError
from lus_unet.models.blocks import check_choice
from lus_unet.models.safe_load import load_state_dict_file
from lus_unet.models.vunet import VGG_TRUNKS, VGGEncoder

log = logging.getLogger(__name__)

TORCHVISION_MODELS_URL = "https://download.pytorch.org/models"

__all__ = ["ENCODER_WEIGHTS", "load_encoder_weights", "load_state_dict_file"]


@dataclass(frozen=True)
class EncoderWeights:
    """torchvision's ImageNet weights file of one encoder.

    Attributes:
        filename: the file's name, in torchvision's cache and on its download server.
        size_mb: its size, announced before a download.
    """

    filename: str
    size_mb: int

    @property
    def url(self) -> str:
        return f"{TORCHVISION_MODELS_URL}/{self.filename}"


# ``model.encoder`` -> its ImageNet weights (torchvision's IMAGENET1K_V1 files).
ENCODER_WEIGHTS = {
    "vgg16": EncoderWeights("vgg16-397923af.pth", 528),
    "vgg16_bn": EncoderWeights("vgg16_bn-6c64b313.pth", 528),
}
VGG16_FILENAME = ENCODER_WEIGHTS["vgg16"].filename
VGG16_URL = ENCODER_WEIGHTS["vgg16"].url


def _encoder_weights(encoder: str) -> EncoderWeights:
    return ENCODER_WEIGHTS[check_choice("model.encoder", encoder, tuple(ENCODER_WEIGHTS))]


def torchvision_cache_path(encoder: str = "vgg16") -> Path:
    """Where torchvision caches (and looks for) an encoder's ImageNet weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / _encoder_weights(encoder).filename


def resolve_encoder_weights(
    spec: str | None, allow_download: bool = True, encoder: str = "vgg16"
) -> Path | None:
    """Turn ``model.encoder_weights`` into a weights file, or None for random initialisation.

    Args:
        spec: ``"imagenet"``, None (random initialisation) or a path to a torchvision-format
            state-dict file of the encoder.
        allow_download: whether a missing ImageNet file may be downloaded into
            torchvision's cache.
        encoder: ``model.encoder``, which selects the ImageNet file.
    """
    weights = _encoder_weights(encoder)
    if spec is None or str(spec).lower() in {"null", "none"}:
        return None
    if str(spec).lower() != "imagenet":
        path = Path(spec).expanduser()
        if not path.is_file():
            raise WeightsError(f"model.encoder_weights: no such file: {path}")
        return path
    label = VGG_TRUNKS[encoder].label
    cached = torchvision_cache_path(encoder)
    if cached.is_file():
        log.info("Using ImageNet %s weights from torchvision's cache: %s", label, cached)
        return cached
    where = (
        f"Download {weights.url} and put it at {cached} (torchvision's cache, set by "
        f"TORCH_HOME), or pass model.encoder_weights=<path to {weights.filename}>, "
        "or model.encoder_weights=null to train from random initialisation."
    )
    if not allow_download:
        raise WeightsError(f"ImageNet {label} weights not found and downloads are off. {where}")
    log.warning(
        "Downloading ImageNet %s weights (%d MB) from %s to %s",
        label,
        weights.size_mb,
        weights.url,
        cached,
    )
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(weights.url, str(cached), progress=True)
    except Exception as error:  # network errors come in many types; all mean the same here
        message = f"could not download ImageNet {label} weights ({error}). {where}"
        raise WeightsError(message) from error
    return cached


# Batch-norm step counters: files saved before PyTorch 0.4.1 (torchvision's vgg16_bn among
# them) lack them, and nothing reads them when momentum is set, so they are optional.
_OPTIONAL_SUFFIX = ".num_batches_tracked"


def _listed(items: list[str], separator: str = ", ", limit: int = 6) -> str:
    more = f" (and {len(items) - limit} more)" if len(items) > limit else ""
    return separator.join(items[:limit]) + more


def load_encoder_weights(encoder: VGGEncoder, path: Path) -> None:
    """Copy torchvision's ``features.N.*`` tensors into the encoder's trunk.

    Every trunk tensor must be present with the right shape: weights and biases and, for
    ``vgg16_bn``, the batch norms' running means and variances (``num_batches_tracked`` may
    be absent, as in old files). The file's classifier tensors (and pool5, which has none)
    are ignored because V-UNet does not use them.
    """
    label = encoder.trunk.label
    expected_file = ENCODER_WEIGHTS[encoder.name].filename
    state = load_state_dict_file(path)
    expected = encoder.features.state_dict()
    # Anything but a tensor (weights_only allows numbers, strings, lists) counts as missing.
    found = {name: state.get(f"features.{name}") for name in expected}
    selected = {name: v if torch.is_tensor(v) else None for name, v in found.items()}
    for name, tensor in expected.items():
        if selected[name] is None and name.endswith(_OPTIONAL_SUFFIX):
            selected[name] = tensor
    missing = [f"features.{name}" for name, tensor in selected.items() if tensor is None]
    if missing:
        raise WeightsError(
            f"{path}: not a {label} state dict (model.encoder={encoder.name} expects "
            f"{expected_file}): missing keys {_listed(missing)}"
        )
    wrong = [
        f"features.{name} {tuple(selected[name].shape)} != {tuple(tensor.shape)}"
        for name, tensor in expected.items()
        if selected[name].shape != tensor.shape
    ]
    if wrong:
        raise WeightsError(
            f"{path}: tensor shapes do not match {label} (model.encoder={encoder.name} "
            f"expects {expected_file}): {_listed(wrong, '; ')}"
        )
    encoder.features.load_state_dict(selected)
    log.info("Loaded ImageNet %s encoder weights (%d tensors) from %s", label, len(selected), path)
