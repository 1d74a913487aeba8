"""The resolvers ``${data_size:...}`` and ``${sampling_args:...}`` of ``conf/``, registered on
import."""

from __future__ import annotations

from omegaconf import OmegaConf

from lus_unet.data.spec import SPECS


def data_size(target: str, n_frames: int | None, hflip_copies: bool) -> str:
    """The paper's name of a data set's size: ``lus400`` is 400 LUS samples, 200 frames + flips.

    Derived from the sampling rather than stored beside it, so that the label (run folders of
    the paper's stages, the report's rows) always tells the samples a run trained on.

    Args:
        target: the ``data._target_`` (its spec's kind: ``lus``, ``salient``).
        n_frames: source frames used (None: all).
        hflip_copies: whether each frame's flip is added.
    """
    kind = SPECS[target].kind if target in SPECS else "data"
    if kind != "lus":
        return kind
    if n_frames is None:
        return "lus_all_x2" if hflip_copies else "lus_all"
    return f"lus{n_frames * (2 if hflip_copies else 1)}"


def sampling_args(n_frames: int | None, hflip_copies: bool) -> str:
    """The overrides that choose a sampling, for a command shown to the user.

    Args:
        n_frames: source frames used (None: all).
        hflip_copies: whether each frame's flip is added.
    """
    frames = "null" if n_frames is None else str(n_frames)
    return f"data.n_frames={frames} data.hflip_copies={str(bool(hflip_copies)).lower()}"


OmegaConf.register_new_resolver("data_size", data_size, replace=True)
OmegaConf.register_new_resolver("sampling_args", sampling_args, replace=True)
