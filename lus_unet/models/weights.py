"""Locating and loading torchvision's ImageNet VGG16 weights into the V-UNet encoder.

Resolution order (the ecosystem's convention, made explicit): a file the user names,
else torchvision's cache (``$TORCH_HOME/hub/checkpoints``), else a download announced in
the log with a progress bar, which ``allow_download=False`` forbids.
"""

from __future__ import annotations

import logging
import pickle
import re
from pathlib import Path

import torch

from lus_unet.errors import WeightsError
from lus_unet.models.vunet import VGG16Encoder

log = logging.getLogger(__name__)

VGG16_FILENAME = "vgg16-397923af.pth"
VGG16_URL = f"https://download.pytorch.org/models/{VGG16_FILENAME}"


def torchvision_cache_path() -> Path:
    """Where torchvision caches (and looks for) the VGG16 ImageNet weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILENAME


def resolve_vgg16_weights(spec: str | None, allow_download: bool = True) -> Path | None:
    """Turn ``model.encoder_weights`` into a weights file, or None for random initialisation.

    Args:
        spec: ``"imagenet"``, None (random initialisation) or a path to a torchvision-format
            VGG16 state-dict file.
        allow_download: whether a missing ImageNet file may be downloaded into
            torchvision's cache.
    """
    if spec is None or str(spec).lower() in {"null", "none"}:
        return None
    if str(spec).lower() != "imagenet":
        path = Path(spec).expanduser()
        if not path.is_file():
            raise WeightsError(f"model.encoder_weights: no such file: {path}")
        return path
    cached = torchvision_cache_path()
    if cached.is_file():
        log.info("Using ImageNet VGG16 weights from torchvision's cache: %s", cached)
        return cached
    where = (
        f"Download {VGG16_URL} and put it at {cached} (torchvision's cache, set by TORCH_HOME), "
        f"or pass model.encoder_weights=<path to {VGG16_FILENAME}>, "
        "or model.encoder_weights=null to train from random initialisation."
    )
    if not allow_download:
        raise WeightsError(f"ImageNet VGG16 weights not found and downloads are off. {where}")
    log.warning("Downloading ImageNet VGG16 weights (528 MB) from %s to %s", VGG16_URL, cached)
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(VGG16_URL, str(cached), progress=True)
    except Exception as error:  # network errors come in many types; all mean the same here
        message = f"could not download ImageNet VGG16 weights ({error}). {where}"
        raise WeightsError(message) from error
    return cached


# How torch's weights_only unpickler names an object it refuses to build (pickled code).
_REFUSED_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")


def load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    """Load a state-dict file without unpickling arbitrary objects (``weights_only=True``).

    Args:
        path: a file written by ``torch.save``.

    Raises:
        WeightsError: one line naming the file: pickled objects other than tensors (refused,
            never run), or a file torch cannot read (not a torch file, truncated).
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        # torch's own messages span many lines (advice on weights_only=False, which would run
        # the payload): keep the one fact that matters.
        refused = _REFUSED_GLOBAL.search(str(error))
        if isinstance(error, pickle.UnpicklingError) and refused:
            raise WeightsError(
                f"{path}: refused to load: the file holds Python objects other than tensors "
                f"({refused.group(1)}); only plain state dicts are accepted (weights_only)"
            ) from error
        detail = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
        reason = f"{type(error).__name__}: {detail[:200]}" if detail else type(error).__name__
        raise WeightsError(
            f"{path}: not a readable PyTorch weights file (damaged, truncated or another "
            f"format; {reason})"
        ) from error
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict, found {type(state).__name__}")
    return state


def load_vgg16_encoder_weights(encoder: VGG16Encoder, path: Path) -> None:
    """Copy torchvision's ``features.N.weight|bias`` tensors into the encoder's trunk.

    Every trunk tensor must be present with the right shape; the file's classifier tensors
    (and pool5, which has none) are ignored because V-UNet does not use them.
    """
    state = load_state_dict_file(path)
    expected = encoder.features.state_dict()
    selected = {name: state.get(f"features.{name}") for name in expected}
    missing = sorted(f"features.{name}" for name, tensor in selected.items() if tensor is None)
    if missing:
        raise WeightsError(f"{path}: not a VGG16 state dict: missing keys {', '.join(missing)}")
    wrong = [
        f"features.{name} {tuple(selected[name].shape)} != {tuple(tensor.shape)}"
        for name, tensor in expected.items()
        if selected[name].shape != tensor.shape
    ]
    if wrong:
        raise WeightsError(f"{path}: tensor shapes do not match VGG16: {'; '.join(wrong)}")
    encoder.features.load_state_dict(selected)
    log.info("Loaded ImageNet VGG16 encoder weights (%d tensors) from %s", len(selected), path)
