"""Reading image and mask files (MAT v5/v7.3, TIFF, PNG; JPEG on request) into checked arrays.

Every reader returns the file's array in its native dtype (the preprocessing decides by dtype
whether a frame is a linear envelope or already log-compressed) and raises
:class:`~lus_unet.errors.DataError` naming the file and the problem for any bad input.

Array orientation: a 2-D frame is (H, W) = (depth, lateral); a MAT cine stack is (H, W, N),
MATLAB's rows x cols x frames. Only MAT files hold cine stacks: a 3-D PNG/TIFF array is colour
(H, W, 3|4), and a multi-page TIFF is refused rather than guessed at.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np
import scipy.io
import tifffile
from PIL import Image

from lus_unet.data.size_limit import MAX_PIXELS, check_pixels
from lus_unet.errors import DataError

if TYPE_CHECKING:
    from lus_unet.data.pairs import SourcePair

IMAGE_SUFFIXES: tuple[str, ...] = (".mat", ".tif", ".tiff", ".png")
# JPEG is lossy, so it is no LUS format (its artefacts look like speckle and its masks are not
# binary); photo sets such as XPIE ship JPEG images, so their readers opt in to it.
JPEG_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg")

# Frame k of a cine file gets the id <file id>_f<k>; this pattern recognises such ids.
_CINE_ID = "{}_f[0-9]+"

# MATLAB classes a v7.3 variable may have and still be a frame; 'char', 'cell', 'struct',
# 'function_handle' and objects are not pixel data.
_MATLAB_NUMERIC = {
    "double",
    "single",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "logical",
}
# MATLAB's internal groups in a v7.3 file: referenced cell/struct contents, class metadata.
_MATLAB_INTERNAL = ("#refs#", "#subsystem#")
_MASK_VALUES_SHOWN = 8


def read_array(
    path: Path, mat_key: str | None = None, *, suffixes: tuple[str, ...] = IMAGE_SUFFIXES
) -> np.ndarray:
    """Read a frame or cine stack from a .mat, .tif/.tiff or .png file, in its native dtype.

    A frame above the default pixel limit is refused from its header (see :func:`read_image`).

    Args:
        path: the file; its suffix (case-insensitive) picks the reader.
        mat_key: for .mat files, the variable to read; None picks the file's single 2-D/3-D
            numeric array and refuses to guess when there are several. Ignored for images.
        suffixes: the file types accepted; add :data:`JPEG_SUFFIXES` to read JPEG photos.

    Returns:
        A 2-D (H, W) array, a 3-D (H, W, N) cine stack (MAT) or a colour (H, W, 3|4) image
        (PNG/TIFF; see :func:`to_grayscale`).
    """
    return _read_named(Path(path), mat_key, suffixes, MAX_PIXELS)[0]


def _read_named(
    path: Path, mat_key: str | None, suffixes: tuple[str, ...], max_pixels: int | None
) -> tuple[np.ndarray, str | None]:
    """The checked array of a file and the MAT variable it came from (None for images)."""
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise DataError(
            path, f"unsupported file type {path.suffix!r} (supported: {', '.join(suffixes)})"
        )
    if not path.is_file():
        raise DataError(path, "file does not exist")
    name = None
    if suffix == ".mat":
        name, array = _read_mat(path, mat_key, max_pixels)
    elif suffix in (".tif", ".tiff"):
        array = _read_tiff(path, max_pixels)
    else:
        array = _read_pillow(path, max_pixels)
    return _check_array(path, array), name


def read_image(
    path: Path,
    mat_key: str | None = None,
    *,
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
    max_pixels: int | None = MAX_PIXELS,
) -> np.ndarray:
    """Read an image file as training reads it: a 2-D frame or cine stack, colour made grey.

    Args:
        path: the file; its suffix (case-insensitive) picks the reader.
        mat_key: for .mat files, the variable to read (None: the file's single candidate).
        suffixes: the file types accepted (see :func:`read_array`).
        max_pixels: refuse, from the file's header, a frame larger than this (see
            :func:`~lus_unet.data.size_limit.check_pixels`); None: no limit.

    Returns:
        A 2-D (H, W) frame or, for a MAT file, possibly a 3-D cine stack (see
        :func:`split_frames`).
    """
    return _read_image_named(Path(path), mat_key, suffixes, max_pixels)[0]


def _read_image_named(
    path: Path, mat_key: str | None, suffixes: tuple[str, ...], max_pixels: int | None
) -> tuple[np.ndarray, str | None]:
    """:func:`read_image` and the MAT variable the array came from (None for images)."""
    array, name = _read_named(path, mat_key, suffixes, max_pixels)
    if _is_colour(path, array):
        array = to_grayscale(array)
    return array, name


def split_frames(
    file_id: str, array: np.ndarray, frame_axis: int = 2
) -> Iterator[tuple[str, np.ndarray]]:
    """The 2-D frames of one file with their ids: the only place frame ids are made.

    A 2-D array is one frame whose id is ``file_id``. A 3-D array is a cine stack indexed by
    ``frame_axis``: frame k gets the id ``<file_id>_f<k>``, k zero-padded to the number of
    digits of N-1 (f0..f4 for 5 frames, f000..f119 for 120), so ids sort in frame order.

    Args:
        file_id: the id of the file (a pair id, or a file stem).
        array: the file's 2-D frame or 3-D stack (see :func:`read_image`).
        frame_axis: the frame axis of a 3-D stack (2 = MATLAB's rows x cols x frames).
    """
    if array.ndim == 2:
        yield file_id, array
        return
    stack = np.moveaxis(array, frame_axis, -1)
    count = stack.shape[-1]
    width = len(str(count - 1))
    for k in range(count):
        # One frame at a time: a long clip is not copied whole.
        yield f"{file_id}_f{k:0{width}d}", np.ascontiguousarray(stack[..., k])


def is_frame_of(frame_id: str, file_id: str) -> bool:
    """Whether :func:`split_frames` can give the id ``frame_id`` to a frame of file ``file_id``.

    Args:
        frame_id: a frame id, e.g. from a run's ``split.json``.
        file_id: the id of a file (a pair id).
    """
    pattern = _CINE_ID.format(re.escape(file_id))
    return frame_id == file_id or re.fullmatch(pattern, frame_id) is not None


def to_grayscale(array: np.ndarray) -> np.ndarray:
    """Convert an (H, W, 3|4) RGB(A) image to luminance (ITU-R 601); a 2-D array is returned as is.

    Alpha is dropped. Integer input keeps its dtype (the weights sum to 1, so the result stays in
    range); float input keeps its float dtype. Equal channels are returned exactly, so a grey
    image or mask saved as RGB loses nothing.

    Args:
        array: a 2-D grayscale or (H, W, 3|4) colour array.
    """
    if array.ndim == 2:
        return array
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise ValueError(f"expected a 2-D or (H, W, 3|4) array, got shape {array.shape}")
    rgb = array[..., :3]
    if _channels_equal(rgb):
        return np.ascontiguousarray(rgb[..., 0])
    luma = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        return np.clip(np.rint(luma), info.min, info.max).astype(array.dtype)
    return luma.astype(array.dtype if np.issubdtype(array.dtype, np.floating) else np.float64)


def read_mask(
    path: Path,
    mat_key: str | None = None,
    threshold: float | None = None,
    *,
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
    max_pixels: int | None = MAX_PIXELS,
) -> np.ndarray:
    """Read a binary mask (2-D, or a 3-D MAT stack) as uint8 {0, 1}.

    Accepted as is: bool/logical, values within {0, 1} or within {0, 255} (so all-zero and
    all-foreground masks are valid). An RGB(A) PNG/TIFF mask is accepted when its colour
    channels are equal (alpha is ignored). Anything else is refused unless ``threshold`` is set.

    Args:
        path: the mask file.
        mat_key: for .mat masks, the variable to read (None: the single candidate).
        threshold: binarise a non-binary mask as ``value > threshold``, in the file's own units
            (e.g. 127 for an 8-bit mask, 0.5 for a float one). Masks already 0/1 or 0/255 are
            never thresholded.
        suffixes: the file types accepted (see :func:`read_array`).
        max_pixels: the pixel limit (see :func:`read_image`).
    """
    return _read_mask_named(Path(path), mat_key, threshold, suffixes, max_pixels)[0]


def _read_mask_named(
    path: Path,
    mat_key: str | None,
    threshold: float | None,
    suffixes: tuple[str, ...],
    max_pixels: int | None,
) -> tuple[np.ndarray, str | None]:
    """The mask as uint8 {0, 1} and the MAT variable it came from (None for images)."""
    mask, name = _read_named(path, mat_key, suffixes, max_pixels)
    return _binarise(path, mask, threshold), name


def _binarise(path: Path, mask: np.ndarray, threshold: float | None) -> np.ndarray:
    """A mask array as uint8 {0, 1} under :func:`read_mask`'s rules, or a DataError."""
    if _is_colour(path, mask):
        if not _channels_equal(mask[..., :3]):
            raise DataError(
                path, "colour mask with differing R/G/B channels; save the mask as grayscale 0/1"
            )
        mask = to_grayscale(mask)
    if mask.dtype == np.bool_:
        return mask.astype(np.uint8)
    values = np.unique(mask)
    if set(values.tolist()) <= {0, 1}:
        return mask.astype(np.uint8)
    if set(values.tolist()) <= {0, 255}:
        return (mask == 255).astype(np.uint8)
    if threshold is None:
        shown = ", ".join(f"{v:g}" for v in values[:_MASK_VALUES_SHOWN].tolist())
        more = ", ..." if values.size > _MASK_VALUES_SHOWN else ""
        raise DataError(
            path,
            f"mask is not binary: found {values.size} distinct values [{shown}{more}] "
            "(expected 0/1 or 0/255; set data.mask_threshold to binarise)",
        )
    return (mask > threshold).astype(np.uint8)


@dataclass(frozen=True, eq=False)
class FrameRecord:
    """One image frame with its mask, ready for preprocessing.

    ``eq=False``: records hold arrays, whose ``==`` is element-wise, so identity is the only
    meaningful equality.
    """

    id: str  # sample id: the pair id, or "<id>_f<k>" for frame k of a cine stack
    group: str  # split group: the pair id (all frames of one cine file share it)
    image: np.ndarray  # 2-D, native dtype
    mask: np.ndarray  # 2-D uint8 {0, 1}
    source: Path  # the image file
    image_variable: str | None = None  # the MAT variable the frame came from (None: not MAT)
    mask_variable: str | None = None  # the MAT variable the mask came from
    stack_shape: tuple[int, ...] | None = None  # the file's (H, W, N) shape for a cine frame


def iter_frames(
    pair: SourcePair,
    mat_key: str | None = None,
    frame_axis: int = 2,
    mask_threshold: float | None = None,
    mask_mat_key: str | None = None,
    *,
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
    max_pixels: int | None = MAX_PIXELS,
) -> Iterator[FrameRecord]:
    """Read an image/mask pair and yield one checked record per frame.

    A 2-D image gives one record with id = pair id. A 3-D MAT image is a cine stack whose
    frames get the ids of :func:`split_frames` (``<id>_f<k>``), all sharing the group ``<id>``
    so that frames of one clip never straddle a split. Colour PNG/TIFF images are converted
    with :func:`to_grayscale`.

    Args:
        pair: the image and mask files.
        mat_key: the variable to read from a .mat image (None: its single candidate).
        frame_axis: which axis of a 3-D MAT stack indexes frames (2 = MATLAB's rows x cols x
            frames; -1 also means the last).
        mask_threshold: see :func:`read_mask`.
        mask_mat_key: the variable to read from a .mat mask (None: its single candidate).
        suffixes: the file types accepted (see :func:`read_array`).
        max_pixels: the pixel limit of images and masks (see :func:`read_image`).
    """
    image, image_variable = _read_image_named(pair.image, mat_key, suffixes, max_pixels)
    mask, mask_variable = _read_mask_named(
        pair.mask, mask_mat_key, mask_threshold, suffixes, max_pixels
    )
    if image.shape != mask.shape:
        raise DataError(
            pair.mask,
            f"mask is {_describe_shape(mask.shape)} but its image {pair.image.name} is "
            f"{_describe_shape(image.shape)}; they must have the same shape",
        )
    cine = image.ndim == 3
    stack_shape = tuple(np.moveaxis(image, frame_axis, -1).shape) if cine else None
    frames = split_frames(pair.id, image, frame_axis)
    masks = split_frames(pair.id, mask, frame_axis)
    for k, ((frame_id, frame), (_, frame_mask)) in enumerate(zip(frames, masks, strict=True)):
        _check_not_constant(pair.image, frame, k if cine else None)
        yield FrameRecord(
            frame_id,
            pair.id,
            frame,
            frame_mask,
            pair.image,
            image_variable,
            mask_variable,
            stack_shape,
        )


def _describe_shape(shape: tuple[int, ...]) -> str:
    kind = "a 2-D frame" if len(shape) == 2 else f"a {len(shape)}-D stack"
    return f"{kind} ({'x'.join(map(str, shape))})"


def _check_not_constant(path: Path, frame: np.ndarray, k: int | None) -> None:
    # A constant frame has zero variance: normalisation divides by it and there is no edge
    # for the network to find, so it is a data error rather than a training sample.
    low, high = frame.min(), frame.max()
    if low == high:
        which = "frame is" if k is None else f"frame {k} is"
        raise DataError(path, f"{which} constant (value {low.item():g}); nothing to segment")


def _is_colour(path: Path, array: np.ndarray) -> bool:
    return path.suffix.lower() != ".mat" and array.ndim == 3 and array.shape[-1] in (3, 4)


def _channels_equal(rgb: np.ndarray) -> bool:
    return bool(
        np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])
    )


def _check_array(path: Path, array: np.ndarray) -> np.ndarray:
    """Refuse arrays no frame reader downstream can use, with the reason."""
    if array.dtype.kind == "c":
        raise DataError(
            path, "complex array (raw IQ data?); store the envelope magnitude abs(iq) instead"
        )
    if array.dtype.kind not in "biuf":
        raise DataError(path, f"non-numeric array of dtype {array.dtype}")
    shape = "x".join(map(str, array.shape))
    if array.ndim >= 4:
        raise DataError(
            path, f"{array.ndim}-D array of shape {shape}; expected a 2-D frame or a 3-D cine stack"
        )
    if array.ndim < 2 or sum(n > 1 for n in array.shape) < 2:
        raise DataError(path, f"array of shape {shape} is not an image; expected a 2-D frame")
    if array.dtype.kind == "f":
        bad = array.size - int(np.count_nonzero(np.isfinite(array)))
        if bad:
            raise DataError(path, f"{bad} non-finite values (NaN/inf) in array of shape {shape}")
    return array


# --- MAT ---------------------------------------------------------------------------------


def _read_mat(path: Path, mat_key: str | None, max_pixels: int | None) -> tuple[str, np.ndarray]:
    try:
        with path.open("rb") as handle:
            header = handle.read(512)
        is_v73 = header.startswith(b"MATLAB 7.3") or h5py.is_hdf5(str(path))
    except OSError as err:
        raise DataError(path, f"cannot read MAT file: {_one_line(err)}") from err
    if is_v73:
        return _read_mat73(path, mat_key, max_pixels)
    return _read_mat5(path, mat_key, max_pixels)


def _read_mat5(path: Path, mat_key: str | None, max_pixels: int | None) -> tuple[str, np.ndarray]:
    try:
        # The variables' headers only: a variable is decompressed once it is chosen and its
        # declared size is within the limit, and no other variable is decompressed at all.
        listed = scipy.io.whosmat(str(path))
    except Exception as err:  # scipy raises many types on corrupt input; all mean "unreadable"
        raise DataError(path, f"cannot read MAT file: {_one_line(err)}") from err
    # Structs, cells, text and sparse matrices are no pixel data.
    shapes = {
        name: (tuple(shape), matlab_class)
        for name, shape, matlab_class in listed
        if matlab_class in _MATLAB_NUMERIC
    }
    name = _choose_variable(path, mat_key, [name for name, _, _ in listed], shapes)
    if name not in shapes:
        raise DataError(path, f"MAT variable {name!r} is not a numeric array")
    check_pixels(path, shapes[name][0], max_pixels)
    try:
        value = scipy.io.loadmat(str(path), variable_names=[name]).get(name)
    except Exception as err:  # as above
        raise DataError(path, f"cannot read MAT file: {_one_line(err)}") from err
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biufc":
        raise DataError(path, f"MAT variable {name!r} is not a numeric array")
    return name, value


def _read_mat73(path: Path, mat_key: str | None, max_pixels: int | None) -> tuple[str, np.ndarray]:
    try:
        with h5py.File(path, "r") as f:
            names = [n for n in f if n not in _MATLAB_INTERNAL]
            shapes = {}
            for n in names:
                described = _mat73_describe(f[n])
                if described is not None:
                    shapes[n] = described
            name = _choose_variable(path, mat_key, names, shapes)
            if name not in shapes:
                raise DataError(path, f"MAT variable {name!r} is not a numeric array")
            check_pixels(path, shapes[name][0], max_pixels)
            return name, _mat73_read(f[name])
    except DataError:
        raise
    except Exception as err:  # h5py raises OSError/KeyError/ValueError on damaged files
        raise DataError(path, f"cannot read MAT file: {_one_line(err)}") from err


def _mat73_class(node: h5py.Dataset | h5py.Group) -> str | None:
    value = node.attrs.get("MATLAB_class")
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _mat73_describe(node: h5py.Dataset | h5py.Group) -> tuple[tuple[int, ...], str] | None:
    """MATLAB-orientation shape and class of a numeric v7.3 variable, or None if not numeric."""
    if not isinstance(node, h5py.Dataset):
        return None  # structs, sparse matrices and function handles are groups
    matlab_class = _mat73_class(node)
    if node.attrs.get("MATLAB_empty", 0):
        return None  # MATLAB stores [] as a dataset holding its dimensions, not data
    if matlab_class is not None and matlab_class not in _MATLAB_NUMERIC:
        return None
    kind = node.dtype.kind
    is_complex = node.dtype.names is not None and set(node.dtype.names) == {"real", "imag"}
    if kind not in "biuf" and not is_complex:
        return None
    return tuple(reversed(node.shape)), matlab_class or str(node.dtype)


def _mat73_read(node: h5py.Dataset) -> np.ndarray:
    data = node[()]
    if data.dtype.names is not None:  # MATLAB stores complex as a compound {real, imag}
        data = data["real"] + 1j * data["imag"]
    # MATLAB is column-major and HDF5 row-major: the file holds the transpose.
    data = np.ascontiguousarray(np.transpose(data))
    if _mat73_class(node) == "logical":
        data = data.astype(np.bool_)
    return data


def _choose_variable(
    path: Path,
    mat_key: str | None,
    names: list[str],
    numeric: dict[str, tuple[tuple[int, ...], str]],
) -> str:
    """Pick the variable named by ``mat_key`` or the file's single frame-like numeric array."""
    if mat_key is not None:
        if mat_key not in names:
            present = ", ".join(names) or "none"
            raise DataError(path, f"no MAT variable {mat_key!r} (variables present: {present})")
        return mat_key
    # Frame-like: at least two dimensions longer than 1, so scalars, vectors (time stamps,
    # depth axes) and other metadata stored next to the frame do not make the file ambiguous.
    candidates = [n for n, (shape, _) in numeric.items() if sum(d > 1 for d in shape) >= 2]
    if len(candidates) == 1:
        return candidates[0]

    def listing(keys: list[str]) -> str:
        return ", ".join(f"{n} ({'x'.join(map(str, numeric[n][0]))} {numeric[n][1]})" for n in keys)

    if not candidates:
        present = listing(list(numeric)) if numeric else ", ".join(names) or "none"
        raise DataError(path, f"no 2-D/3-D numeric array in MAT file (variables: {present})")
    raise DataError(
        path,
        f"several numeric arrays in MAT file: {listing(candidates)}; set data.mat_key "
        "(data.mask_mat_key for mask files) to the one to use",
    )


# --- TIFF and PNG ------------------------------------------------------------------------


def _read_tiff(path: Path, max_pixels: int | None) -> np.ndarray:
    try:
        with tifffile.TiffFile(path) as tif:
            if len(tif.series) != 1:
                raise DataError(
                    path, f"TIFF holds {len(tif.series)} image series; expected one frame per file"
                )
            series = tif.series[0]
            # Colour samples (axis S) are no pixels of their own.
            pixels = [n for n, a in zip(series.shape, series.axes, strict=True) if a != "S"]
            check_pixels(path, pixels, max_pixels)
            array = series.asarray()
            axes = series.axes
    except DataError:
        raise
    except Exception as err:  # tifffile raises TiffFileError/ValueError/OSError on bad files
        raise DataError(path, f"cannot read TIFF file: {_one_line(err)}") from err
    # Normalise tifffile's axis letters: Y/X are the image, S the colour samples; any other
    # axis longer than 1 means several images (pages, z, time) in one file.
    keep = [i for i, a in enumerate(axes) if a in "YXS" or array.shape[i] > 1]
    array = array.reshape([array.shape[i] for i in keep])
    axes = "".join(axes[i] for i in keep)
    extra = [a for a in axes if a not in "YXS"]
    if extra:
        raise DataError(
            path,
            f"multi-image TIFF of shape {'x'.join(map(str, array.shape))} (axes {axes}); "
            "store one frame per TIFF, or a cine stack as a .mat (H x W x N)",
        )
    if "S" in axes:
        array = np.moveaxis(array, axes.index("S"), -1)
        if array.shape[-1] == 1:
            array = array[..., 0]
    return array


def _read_pillow(path: Path, max_pixels: int | None) -> np.ndarray:
    """A PNG or JPEG file as (H, W) or (H, W, 3|4)."""
    kind = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    try:
        with warnings.catch_warnings():
            # Pillow's own guard warns from 89 megapixels; the size check below decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as err:
        # Pillow refuses outright from 179 megapixels (above any sensible max_pixels) in open().
        raise DataError(path, f"refused before reading it: {err}") from err
    except Exception as err:  # pillow raises OSError/SyntaxError/ValueError on bad files
        raise DataError(path, f"cannot read {kind} file: {_one_line(err)}") from err
    with image:
        width, height = image.size  # from the header: nothing is decoded yet
        check_pixels(path, (height, width), max_pixels)
        return _decode_pillow(path, image, kind)


def _decode_pillow(path: Path, image: Image.Image, kind: str) -> np.ndarray:
    """Decode an opened PNG or JPEG image as (H, W) or (H, W, 3|4)."""
    try:
        image.load()
        mode = image.mode
        if mode == "P":  # palette: expand to the colours it stands for
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif mode == "LA":
            image = image.convert("L")
        elif mode in ("PA", "RGBa"):
            image = image.convert("RGBA")
        elif mode in ("CMYK", "YCbCr", "LAB"):  # JPEG colour spaces that are not RGB
            image = image.convert("RGB")
        array = np.asarray(image)
    except Exception as err:  # pillow raises OSError/SyntaxError/ValueError on bad files
        raise DataError(path, f"cannot read {kind} file: {_one_line(err)}") from err
    # Some Pillow versions open 16-bit grayscale PNGs in 32-bit mode "I"; PNG has no signed or
    # 32-bit samples, so uint16 is the file's true dtype.
    if array.dtype == np.int32 and array.size and array.min() >= 0 and array.max() <= 65535:
        array = array.astype(np.uint16)
    return np.array(array)  # own, writable memory (np.asarray of a PIL image is read-only)


def _one_line(err: Exception) -> str:
    """A library exception as one line, so the user-facing message stays one line."""
    return " ".join(f"{type(err).__name__}: {err}".split())
