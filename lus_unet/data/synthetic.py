"""Synthetic data in the project's data contract: raw LUS frames with rib masks, salient objects.

The paper's LUS frames and XPIE are not redistributable, so these
generators are the embedded defaults (see the data contract in DESIGN.md).

LUS frames come in two profiles (``data.synthetic.profile``), drawn from one shared scene
(:mod:`lus_unet.data.synthetic_scene`). The standard profile (:func:`synth_lus_frame`)
imitates a linear-array B-mode acquisition of an intercostal view: 960 depth rows x 128
lateral columns, float32 *linear envelope* (not log compressed; values span several decades).
Each frame holds layered soft tissue with fascia lines, a bright thin pleural line, one or two
ribs drawn as convex-upward hyperechoic arcs followed by a full-depth posterior acoustic
shadow, A-line reverberations at multiples of the pleural depth (absent in the shadows),
uncompensated depth attenuation, an additive noise floor and multiplicative, axially elongated
Rayleigh speckle. The rib mask is the cortex band under the arc (40-90 rows thick at the apex,
thinning towards the rib's ends). The rib's brightness fades along the arc and with depth in
the band, while the pleura, A-lines and fascia are about as bright as it, so a global
intensity threshold scores poorly (see :mod:`lus_unet.threshold_baseline`); the arc's
shape and the shadow below identify it. The realistic profile
(:mod:`lus_unet.data.synthetic_realistic`) keeps the contract, the ids and the mask's geometry
and is harder: physical (PSF-convolved) speckle, per-frame gain and TGC errors, ribs cut by
the frame's side, faint or partly transmitting, B-lines and near-field clutter. Each profile
draws from its own random stream and has its own content version.

Salient images (:func:`synth_salient_image`) stand in for XPIE: textured star-shaped objects
of either polarity on a textured, shaded background with low-contrast clutter.

Datasets are written with a ``synthetic.json`` manifest (a realistic set's records its
``profile``); an existing folder with the same manifest is reused, any other non-empty folder
is refused (never overwritten).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import tifffile
from PIL import Image
from scipy import ndimage

from lus_unet.data.build_lock import building
from lus_unet.data.preprocess import log_compress
from lus_unet.data.synthetic_realistic import synth_lus_frame_realistic
from lus_unet.data.synthetic_scene import (
    FRAME_SHAPE,
    depth_attenuation,
    floor_positive,
    lus_scene,
    paint_rib,
    rib_layout,
)
from lus_unet.errors import DataError
from lus_unet.progress import progress

log = logging.getLogger(__name__)

# Bump when the generated content changes, so stale cached datasets are detected (the
# realistic LUS profile has its own version in LUS_PROFILE_VERSIONS).
GENERATOR_VERSION = 1
MANIFEST_NAME = "synthetic.json"

LUS_IMAGE_FORMATS = ("mat", "tif", "png")
LUS_MASK_FORMATS = ("png", "tif", "mat")
PNG_DYNAMIC_RANGE_DB = 60.0
# The LUS profiles (see the module docstring) and the version of each one's content: the
# standard one's is GENERATOR_VERSION, the realistic one's is its own, so that changing one
# profile never invalidates the other's cached datasets.
LUS_PROFILES = ("standard", "realistic")
LUS_PROFILE_VERSIONS = {"standard": GENERATOR_VERSION, "realistic": 1}

# Speckle correlation (Gaussian sigma, pixels): a depth row is far finer than the axial
# resolution, a column is about one beam width.
_SPECKLE_SIGMA = (2.0, 0.6)


def frame_seed(seed: int, index: int, stream: int = 0) -> np.random.SeedSequence:
    """The seed sequence of item ``index`` of a dataset, independent of the dataset's size.

    Args:
        seed: the dataset seed.
        index: the item's 0-based index.
        stream: 0, or another number for an independent sequence (another LUS profile).
    """
    # Equal to SeedSequence(seed).spawn(n)[index] for any n > index.
    return np.random.SeedSequence(seed, spawn_key=(index, stream) if stream else (index,))


def lus_frame_id(index: int) -> str:
    """The id of LUS frame ``index``: probe positions 2 and 3 alternate (``pos2_0001``, ...).

    Args:
        index: the frame's 0-based index.
    """
    return f"pos{lus_position(index)}_{index + 1:04d}"


def lus_position(index: int) -> int:
    """The probe position (2 or 3) frame ``index`` is drawn from.

    Args:
        index: the frame's 0-based index.
    """
    return 2 + index % 2


# --------------------------------------------------------------------------- LUS frames


def synth_lus_frame(rng: np.random.Generator, position: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic raw LUS frame of the standard profile and its rib mask.

    Args:
        rng: the source of randomness (the frame is a deterministic function of its state).
        position: probe position (2 or 3); position 3 views the pleura slightly deeper.

    Returns:
        ``(frame, mask)``: the positive 960x128 float32 envelope and the uint8 {0, 1} cortex
        mask.
    """
    h, w = FRAME_SHAPE
    scene = lus_scene(rng, position)

    # Ribs: convex-upward arcs; the cortex band is the mask; everything below is shadowed.
    blocked = np.zeros(FRAME_SHAPE, dtype=np.float32)
    for centre, hw in rib_layout(rng, w):
        apex = max(scene.pleura_at(centre) - rng.uniform(40.0, 170.0), 60.0)
        cols, shadow = paint_rib(scene, centre, hw, apex, _standard_brightness)
        blocked[:, cols] = np.maximum(blocked[:, cols], shadow)
    transmission = 1.0 - np.float32(1.0 - rng.uniform(0.003, 0.02)) * blocked
    clean = ndimage.gaussian_filter(scene.background * transmission + scene.rib, (1.0, 0.5))

    # Depth attenuation left after time-gain compensation, noise floor, speckle, gain.
    clean *= depth_attenuation(rng, scene.y)
    noise_floor = np.float32(rng.uniform(0.002, 0.01))
    speckle = ndimage.gaussian_filter(
        rng.standard_normal((2, h, w), dtype=np.float32), (0, *_SPECKLE_SIGMA)
    )
    speckle /= np.sqrt(np.mean(speckle[0] ** 2 + speckle[1] ** 2))
    # The noise floor reuses the speckle field reversed in depth and shifted by half the width:
    # statistically a second, independent field (no pixel meets itself), at half the cost.
    noise = np.roll(speckle[:, ::-1, :], w // 2, axis=2)
    real = clean * speckle[0] + noise_floor * noise[0]
    imag = clean * speckle[1] + noise_floor * noise[1]
    frame = np.hypot(real, imag) * np.float32(10.0 ** rng.uniform(1.5, 3.5))
    return floor_positive(frame), scene.mask.astype(np.uint8)


def _standard_brightness(rng: np.random.Generator) -> float:
    """The standard profile's rib echo amplitude: about as bright as the pleural line."""
    return rng.uniform(20.0, 60.0)


def check_lus_profile(profile: str) -> None:
    """Raise ValueError unless ``profile`` is one of :data:`LUS_PROFILES`.

    Args:
        profile: the profile name.
    """
    _check_format(profile, LUS_PROFILES, "profile")


def lus_frame(
    seed: int, index: int, profile: str = "standard"
) -> tuple[str, np.ndarray, np.ndarray]:
    """Frame ``index`` of the synthetic LUS dataset with ``seed``: ``(id, frame, mask)``.

    Args:
        seed: the dataset seed.
        index: the frame's 0-based index.
        profile: ``standard`` or ``realistic`` (each draws from its own random stream).
    """
    check_lus_profile(profile)
    synth = synth_lus_frame_realistic if profile == "realistic" else synth_lus_frame
    rng = np.random.default_rng(frame_seed(seed, index, LUS_PROFILES.index(profile)))
    frame, mask = synth(rng, lus_position(index))
    return lus_frame_id(index), frame, mask


def iter_lus_frames(
    n_frames: int, seed: int = 0, profile: str = "standard"
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Yield ``(id, frame, mask)`` for the first ``n_frames`` frames of a synthetic dataset.

    Args:
        n_frames: how many frames.
        seed: the dataset seed.
        profile: ``standard`` or ``realistic``.
    """
    for index in range(n_frames):
        yield lus_frame(seed, index, profile)


# --------------------------------------------------------------------------- salient images


def _smooth_noise_2d(rng: np.random.Generator, size: int, scale: float) -> np.ndarray:
    """Unit-std noise of ``size``x``size`` with features about ``scale`` pixels wide."""
    # Gaussian filtering in the Fourier domain costs the same at every scale (and wraps
    # around, which a texture does not mind).
    freq_y = np.fft.fftfreq(size)[:, None]
    freq_x = np.fft.rfftfreq(size)[None, :]
    sigma = scale / 2.0
    gain = np.exp(-2.0 * (np.pi * sigma) ** 2 * (freq_y**2 + freq_x**2))
    noise = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((size, size))) * gain, s=(size, size))
    return (noise - noise.mean()) / (noise.std() + 1e-12)


def _star_shape(
    rng: np.random.Generator, size: int, centre: np.ndarray, radius: float, harmonics: int
) -> tuple[tuple[slice, slice], np.ndarray]:
    """A star-shaped region with a smooth random boundary: its box and signed inside-ness there.

    Returns:
        ``(box, inside)``: the slices of the image holding the region (plus a margin for the
        anti-aliased edge) and, within them, the distance-like inside-ness (> 0 inside).
    """
    phases = rng.uniform(0, 2 * np.pi, size=harmonics - 1)
    amplitudes = rng.uniform(0.0, 0.35, size=harmonics - 1) / np.arange(2, harmonics + 1)
    stretch = rng.uniform(0.6, 1.0)
    angle = rng.uniform(0, np.pi)
    # The boundary never reaches beyond radius * (1 + sum of amplitudes).
    reach = radius * (1.0 + amplitudes.sum()) + 2.0
    y0, y1 = (int(np.clip(c, 0, size)) for c in (centre[0] - reach, centre[0] + reach + 1))
    x0, x1 = (int(np.clip(c, 0, size)) for c in (centre[1] - reach, centre[1] + reach + 1))
    box = (slice(y0, y1), slice(x0, x1))
    dy = np.arange(y0, y1, dtype=np.float64)[:, None] - centre[0]
    dx = np.arange(x0, x1, dtype=np.float64)[None, :] - centre[1]
    theta = np.arctan2(dy, dx)
    boundary = np.ones_like(theta)
    for k, (amplitude, phase) in enumerate(zip(amplitudes, phases, strict=True), start=2):
        boundary += amplitude * np.cos(k * theta + phase)
    ca, sa = np.cos(angle), np.sin(angle)
    # An elliptic stretch before the radial test makes elongated objects too.
    r = np.hypot(dx * ca + dy * sa, (-dx * sa + dy * ca) / stretch)
    return box, radius * boundary - r


def synth_salient_image(rng: np.random.Generator, size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic salient-object image (uint8 grayscale) and its uint8 {0, 1} mask.

    Objects are brighter or darker than their surroundings (random polarity), carry their own
    texture and shading, and sit on a textured, shaded background with smaller low-contrast
    clutter shapes, so a global threshold does not segment them.

    Args:
        rng: the source of randomness.
        size: the image side in pixels.
    """
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, 2 * np.pi)
    gradient = (np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5)) * rng.uniform(0, 0.4)
    image = rng.uniform(0.25, 0.75) + gradient
    for scale in (3.0, 10.0, 40.0):
        image += rng.uniform(0.02, 0.08) * _smooth_noise_2d(rng, size, scale * size / 256)

    # Clutter: small, low-contrast shapes that are not the salient object.
    for _ in range(rng.integers(3, 9)):
        centre = rng.uniform(0, size, size=2)
        box, inside = _star_shape(rng, size, centre, rng.uniform(0.02, 0.07) * size, 4)
        soft = np.clip(inside / 1.5 + 0.5, 0.0, 1.0)
        image[box] += soft * rng.choice([-1.0, 1.0]) * rng.uniform(0.06, 0.18)

    mask = np.zeros((size, size), dtype=bool)
    n_objects = 1 if rng.random() < 0.7 else 2
    for i in range(n_objects):
        radius = rng.uniform(0.15, 0.32) * size * (1.0 if i == 0 else 0.6)
        centre = rng.uniform(0.25, 0.75, size=2) * size
        box, inside = _star_shape(rng, size, centre, radius, 6)
        region = inside > 0
        soft = np.clip(inside / 1.5 + 0.5, 0.0, 1.0)  # anti-aliased edge
        local = float(np.mean(image[box][region])) if region.any() else float(image.mean())
        polarity = 1.0 if local < 0.35 else -1.0 if local > 0.65 else rng.choice([-1.0, 1.0])
        scale = rng.choice([2.0, 6.0, 20.0]) * size / 256
        own = (
            local
            + polarity * rng.uniform(0.15, 0.35)
            + rng.uniform(0.03, 0.1) * _smooth_noise_2d(rng, size, scale)[box]
            + rng.uniform(-0.1, 0.1) * (yy[box] - centre[0] / size)
        )
        image[box] = image[box] * (1.0 - soft) + own * soft
        mask[box] |= region
    image += rng.normal(0.0, rng.uniform(0.005, 0.03), size=image.shape)
    image_u8 = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    return image_u8, mask.astype(np.uint8)


def salient_image_id(index: int) -> str:
    """The id of salient image ``index`` (``sal_00001``, ...).

    Args:
        index: the image's 0-based index.
    """
    return f"sal_{index + 1:05d}"


# Colour directions for the RGB copies, made luminance-free below (ITU-R 601 weights).
_LUMA = np.array([0.299, 0.587, 0.114])
_TINTS = np.array([[40.0, 0.0, -30.0], [-30.0, 5.0, 40.0], [10.0, -20.0, 30.0]])
_TINTS -= (_TINTS @ _LUMA)[:, None]
_RGB_EVERY = 4


def _tinted_rgb(gray: np.ndarray, index: int) -> np.ndarray:
    """An RGB copy of a grayscale image whose luminance is the grey to within rounding."""
    tint = _TINTS[(index // _RGB_EVERY) % len(_TINTS)]
    g = gray.astype(np.float64)[..., None]
    # Shrink the tint where a channel would clip, so that the luminance stays exact.
    room = np.where(tint > 0, (255.0 - g) / np.where(tint > 0, tint, 1.0), g / np.abs(tint))
    scale = np.minimum(1.0, room.min(axis=-1, keepdims=True))
    return np.clip(np.rint(g + scale * tint), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- writing datasets


def _manifest_path(root: Path) -> Path:
    return root / MANIFEST_NAME


def _read_manifest(root: Path) -> dict[str, Any] | None:
    path = _manifest_path(root)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DataError(path, f"unreadable synthetic-data manifest ({error})") from error


def _reuse_existing(root: Path, header: dict[str, Any], ids: list[str]) -> bool:
    """True if ``root`` already holds this dataset; False if absent or empty; else DataError."""
    if not root.exists():
        return False
    if not root.is_dir():
        raise DataError(root, "exists and is not a folder; cannot write a synthetic dataset here")
    if not any(root.iterdir()):
        return False
    manifest = _read_manifest(root)
    if manifest is None:
        raise DataError(
            root,
            "folder is not empty and was not written by the synthetic generator "
            f"(no {MANIFEST_NAME}); refusing to overwrite it, choose another folder",
        )
    # Keys the manifest has and the header lacks (e.g. a non-default profile) differ too.
    keys = [*header, *sorted(set(manifest) - set(header) - {"ids", "images", "masks"})]
    found = {key: manifest.get(key) for key in keys}
    wanted = {key: header.get(key) for key in keys}
    if found != wanted:
        differing = ", ".join(
            f"{key}={found[key]!r} (wanted {wanted[key]!r})"
            for key in keys
            if found[key] != wanted[key]
        )
        raise DataError(
            root,
            f"holds a different synthetic dataset ({differing}); "
            "delete the folder to regenerate it, or choose another folder",
        )
    files = (manifest.get("images"), manifest.get("masks"))
    if manifest.get("ids") != ids or any(
        not isinstance(names, list) or len(names) != len(ids) for names in files
    ):
        raise DataError(
            _manifest_path(root), "manifest does not list the expected files; delete the folder"
        )
    missing = [
        f"{folder}/{name}"
        for folder, names in zip(("images", "masks"), files, strict=True)
        for name in names
        if not (root / folder / name).is_file()
    ]
    if missing:
        raise DataError(
            root,
            f"synthetic dataset is incomplete ({len(missing)} files missing, e.g. {missing[0]}); "
            "delete the folder to regenerate it",
        )
    return True


def _materialise(
    root: Path,
    header: dict[str, Any],
    ids: list[str],
    write_item: Callable[[Path, int], tuple[str, str]],
    desc: str,
) -> list[str]:
    """Write a dataset into ``root`` atomically, or reuse it when its manifest matches.

    Args:
        root: the dataset folder.
        header: generator name, version and parameters; the reuse key.
        ids: the item ids, in order.
        write_item: writes item k under the given folder (``images/``, ``masks/`` exist) and
            returns the image and mask file names it wrote.
        desc: progress-bar label.
    """
    root = Path(root).expanduser()
    if _reuse_existing(root, header, ids):
        log.info("Reusing synthetic dataset %s (%d items)", root, len(ids))
        return ids
    root.parent.mkdir(parents=True, exist_ok=True)
    with building(root):
        # Another process may have written it while this one waited for the lock.
        if _reuse_existing(root, header, ids):
            log.info("Synthetic dataset %s was written by another process; using it", root)
            return ids
        # Generate into a hidden sibling and rename it into place at the end: an interrupted
        # run never leaves a folder that looks like a complete dataset.
        tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
        try:
            (tmp / "images").mkdir()
            (tmp / "masks").mkdir()
            log.info("Generating %d synthetic items into %s", len(ids), root)
            images, masks = [], []
            for index in progress(range(len(ids)), desc, "item", leave=False):
                image_name, mask_name = write_item(tmp, index)
                images.append(image_name)
                masks.append(mask_name)
            manifest = {**header, "ids": ids, "images": images, "masks": masks}
            _manifest_path(tmp).write_text(json.dumps(manifest, indent=1) + "\n")
            if root.is_dir() and not any(root.iterdir()):
                root.rmdir()
            try:
                os.rename(tmp, root)
            except OSError:
                # Another process that could not take the lock may have finished it meanwhile.
                if _reuse_existing(root, header, ids):
                    log.info("Synthetic dataset %s was written concurrently; using it", root)
                    return ids
                raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    log.info("Wrote synthetic dataset %s", root)
    return ids


def _save_png(path: Path, array: np.ndarray) -> None:
    Image.fromarray(array).save(path, optimize=False)


def _write_lus_image(path: Path, frame: np.ndarray, image_format: str) -> None:
    if image_format == "mat":
        scipy.io.savemat(path, {"frame": frame}, do_compression=True)
    elif image_format == "tif":
        tifffile.imwrite(path, frame)
    else:  # an 8-bit log-compressed export, as a scanner's PNG
        compressed = log_compress(frame, PNG_DYNAMIC_RANGE_DB)
        _save_png(path, np.rint(compressed * 255.0).astype(np.uint8))


def _write_mask(path: Path, mask: np.ndarray, mask_format: str) -> None:
    if mask_format == "png":
        _save_png(path, mask * np.uint8(255))
    elif mask_format == "tif":
        tifffile.imwrite(path, mask)
    else:
        scipy.io.savemat(path, {"mask": mask}, do_compression=True)


def _check_format(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {allowed}, got {value!r}")


def generate_lus_dataset(
    root: Path,
    n_frames: int,
    seed: int = 0,
    image_format: str = "mat",
    mask_format: str = "png",
    profile: str = "standard",
) -> list[str]:
    """Write a synthetic LUS dataset (``images/<id>.<ext>``, ``masks/<id>.<ext>``) and its ids.

    An existing folder written with the same parameters is reused as is; a non-empty folder
    holding anything else raises :class:`~lus_unet.errors.DataError`. The manifest of a
    realistic set records ``profile`` (a standard set's has no such key, as before profiles).

    Args:
        root: the dataset folder (created; its parent too).
        n_frames: number of frames.
        seed: dataset seed; frame k is the same whatever ``n_frames`` is.
        image_format: ``mat`` (MATLAB v5, variable ``frame``, float32 linear envelope),
            ``tif`` (float32 linear envelope) or ``png`` (8-bit, log-compressed to 60 dB).
        mask_format: ``png`` (0/255), ``tif`` (0/1) or ``mat`` (variable ``mask``, 0/1).
        profile: ``standard`` or ``realistic`` (see the module docstring).
    """
    _check_format(image_format, LUS_IMAGE_FORMATS, "image_format")
    _check_format(mask_format, LUS_MASK_FORMATS, "mask_format")
    check_lus_profile(profile)
    if n_frames < 1:
        raise ValueError(f"n_frames must be positive, got {n_frames}")
    header = {
        "generator": "lus_unet.data.synthetic.generate_lus_dataset",
        "version": LUS_PROFILE_VERSIONS[profile],
        "n_frames": int(n_frames),
        "seed": int(seed),
        "image_format": image_format,
        "mask_format": mask_format,
    }
    if profile != "standard":
        header["profile"] = profile
    ids = [lus_frame_id(k) for k in range(n_frames)]

    def write_item(folder: Path, index: int) -> tuple[str, str]:
        frame_id, frame, mask = lus_frame(seed, index, profile)
        image_name, mask_name = f"{frame_id}.{image_format}", f"{frame_id}.{mask_format}"
        _write_lus_image(folder / "images" / image_name, frame, image_format)
        _write_mask(folder / "masks" / mask_name, mask, mask_format)
        return image_name, mask_name

    return _materialise(Path(root), header, ids, write_item, "Synthetic LUS frames")


def generate_salient_dataset(
    root: Path, n_images: int, seed: int = 0, size: int = 256
) -> list[str]:
    """Write a synthetic salient-object dataset (PNG images and 0/255 PNG masks) and its ids.

    Every fourth image (k % 4 == 3) is written as a tinted RGB PNG whose luminance is the
    grayscale image (to within rounding), to exercise the readers' grayscale conversion; the
    others are 8-bit grayscale. Reuse/refusal rules as in :func:`generate_lus_dataset`.

    Args:
        root: the dataset folder.
        n_images: number of images.
        seed: dataset seed; image k is the same whatever ``n_images`` is.
        size: image side in pixels.
    """
    if n_images < 1:
        raise ValueError(f"n_images must be positive, got {n_images}")
    header = {
        "generator": "lus_unet.data.synthetic.generate_salient_dataset",
        "version": GENERATOR_VERSION,
        "n_images": int(n_images),
        "seed": int(seed),
        "size": int(size),
    }
    ids = [salient_image_id(k) for k in range(n_images)]

    def write_item(folder: Path, index: int) -> tuple[str, str]:
        image, mask = synth_salient_image(np.random.default_rng(frame_seed(seed, index)), size)
        if index % _RGB_EVERY == _RGB_EVERY - 1:
            image = _tinted_rgb(image, index)
        name = f"{ids[index]}.png"
        _save_png(folder / "images" / name, image)
        _save_png(folder / "masks" / name, mask * np.uint8(255))
        return name, name

    return _materialise(Path(root), header, ids, write_item, "Synthetic salient images")
