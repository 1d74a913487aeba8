"""Reading MAT (v5, v7.3), TIFF and PNG files, masks and cine stacks; every bad input is refused."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import tifffile
from PIL import Image

from lus_unet.data.io import FrameRecord, iter_frames, read_array, read_mask, to_grayscale
from lus_unet.data.pairs import SourcePair
from lus_unet.errors import DataError

_MATLAB_CLASS = {
    np.dtype(np.float64): b"double",
    np.dtype(np.float32): b"single",
    np.dtype(np.uint8): b"uint8",
    np.dtype(np.uint16): b"uint16",
    np.dtype(np.int16): b"int16",
    np.dtype(np.bool_): b"logical",
}


def write_mat73(path: Path, variables: dict[str, np.ndarray]) -> Path:
    """Write a MAT v7.3 file the way MATLAB does: 512-byte header, transposed datasets."""
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, array in variables.items():
            stored = array.astype(np.uint8) if array.dtype == np.bool_ else array
            dataset = f.create_dataset(name, data=np.ascontiguousarray(stored.T))
            dataset.attrs["MATLAB_class"] = np.bytes_(_MATLAB_CLASS[array.dtype])
        # MATLAB's bookkeeping, which must never count as a frame
        f.create_group("#refs#").create_dataset("a", data=np.ones((4, 4)))
        text = f.create_dataset("note", data=np.frombuffer(b"hello".ljust(8), np.uint8)[None])
        text.attrs["MATLAB_class"] = np.bytes_(b"char")
        f.create_group("info").attrs["MATLAB_class"] = np.bytes_(b"struct")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5"
    header = header.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02IM"
    with path.open("r+b") as handle:
        handle.write(header.ljust(512, b"\0"))
    return path


def frame(shape: tuple[int, ...] = (12, 8), dtype: type = np.float64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)
    return (rng.random(shape) * 1000).astype(dtype)


def check(err: pytest.ExceptionInfo, path: Path, *fragments: str) -> None:
    """The DataError message is one line, starts with the path and names the problem."""
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.uint16, np.int16])
def test_mat5_round_trip_keeps_values_shape_and_dtype(tmp_path: Path, dtype: type) -> None:
    data = frame((30, 7), dtype)
    path = tmp_path / "a.mat"
    scipy.io.savemat(path, {"frame": data, "fs": 40e6, "depth": np.arange(30.0)})
    out = read_array(path)
    assert out.dtype == data.dtype
    np.testing.assert_array_equal(out, data)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.uint16, np.int16])
def test_mat73_is_transposed_back_and_keeps_dtype(tmp_path: Path, dtype: type) -> None:
    data = frame((96, 16), dtype)  # tall like a 960x128 frame: a missed transpose shows
    path = write_mat73(tmp_path / "a.mat", {"frame": data})
    with h5py.File(path, "r") as f:
        assert f["frame"].shape == (16, 96)  # really stored column-major
    out = read_array(path)
    assert out.shape == (96, 16)
    assert out.dtype == data.dtype
    np.testing.assert_array_equal(out, data)


def test_mat73_full_size_frame(tmp_path: Path) -> None:
    data = frame((960, 128))
    out = read_array(write_mat73(tmp_path / "lus.mat", {"rf_env": data}))
    assert out.shape == (960, 128)
    np.testing.assert_array_equal(out, data)


def test_mat73_detected_without_header_text(tmp_path: Path) -> None:
    path = tmp_path / "plain.mat"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(read_array(path), np.arange(12.0).reshape(3, 4).T)


def test_mat73_logical_becomes_bool(tmp_path: Path) -> None:
    data = frame((10, 6)) > 500
    out = read_array(write_mat73(tmp_path / "m.mat", {"mask": data}))
    assert out.dtype == np.bool_
    np.testing.assert_array_equal(out, data)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_tiff_round_trip(tmp_path: Path, dtype: type) -> None:
    data = frame((20, 9), dtype)
    tifffile.imwrite(tmp_path / "a.tif", data)
    out = read_array(tmp_path / "a.tif")
    assert out.dtype == data.dtype
    np.testing.assert_array_equal(out, data)


def test_tiff_suffix_case_and_tiff_extension(tmp_path: Path) -> None:
    data = frame((5, 4), np.uint8)
    tifffile.imwrite(tmp_path / "a.TIFF", data)
    np.testing.assert_array_equal(read_array(tmp_path / "a.TIFF"), data)


def test_tiff_rgb_is_returned_as_colour(tmp_path: Path) -> None:
    data = frame((6, 5, 3), np.uint8)
    tifffile.imwrite(tmp_path / "c.tif", data, photometric="rgb")
    np.testing.assert_array_equal(read_array(tmp_path / "c.tif"), data)


def test_tiff_multi_page_refused(tmp_path: Path) -> None:
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, frame((5, 6, 7), np.uint8), photometric="minisblack")
    with pytest.raises(DataError) as err:
        read_array(path)
    check(err, path, "multi-image TIFF", ".mat")


@pytest.mark.parametrize(
    ("mode", "data"),
    [
        ("L", frame((7, 9), np.uint8)),
        ("I;16", frame((7, 9), np.uint16)),
        ("RGB", frame((7, 9, 3), np.uint8)),
        ("RGBA", frame((7, 9, 4), np.uint8)),
    ],
)
def test_png_round_trip(tmp_path: Path, mode: str, data: np.ndarray) -> None:
    Image.fromarray(data).save(tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as image:
        assert image.mode == mode
    out = read_array(tmp_path / "a.png")
    assert out.dtype == data.dtype
    np.testing.assert_array_equal(out, data)
    out[0, 0] = 0  # callers may modify what they get


# --- MAT variable selection ---------------------------------------------------------------


@pytest.mark.parametrize("writer", ["v5", "v73"])
def test_mat_key_selects_and_ambiguity_lists_candidates(tmp_path: Path, writer: str) -> None:
    a, b = frame((8, 6), seed=1), frame((8, 6, 3), seed=2)
    path = tmp_path / "two.mat"
    if writer == "v5":
        scipy.io.savemat(path, {"env": a, "raw": b})
    else:
        write_mat73(path, {"env": a, "raw": b})
    np.testing.assert_array_equal(read_array(path, mat_key="env"), a)
    np.testing.assert_array_equal(read_array(path, mat_key="raw"), b)
    with pytest.raises(DataError) as err:
        read_array(path)
    check(err, path, "env (8x6 double)", "raw (8x6x3 double)", "data.mat_key")
    with pytest.raises(DataError) as err:
        read_array(path, mat_key="frame")
    check(err, path, "'frame'", "env", "raw")


def test_mat_without_frame_like_array(tmp_path: Path) -> None:
    path = tmp_path / "meta.mat"
    scipy.io.savemat(path, {"fs": 40e6, "t": np.arange(5.0), "name": "probe"})
    with pytest.raises(DataError) as err:
        read_array(path)
    check(err, path, "no 2-D/3-D numeric array", "fs")


def test_mat_key_naming_text_variable(tmp_path: Path) -> None:
    path = tmp_path / "m.mat"
    scipy.io.savemat(path, {"img": frame(), "name": "probe"})
    with pytest.raises(DataError) as err:
        read_array(path, mat_key="name")
    check(err, path, "'name' is not a numeric array")


def test_truncated_mat_files(tmp_path: Path) -> None:
    v5 = tmp_path / "v5.mat"
    scipy.io.savemat(v5, {"img": frame((40, 40))})
    v73 = write_mat73(tmp_path / "v73.mat", {"img": frame((40, 40))})
    for path in (v5, v73):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        with pytest.raises(DataError) as err:
            read_array(path)
        check(err, path, "cannot read MAT file")


def test_garbage_with_mat_suffix(tmp_path: Path) -> None:
    path = tmp_path / "junk.mat"
    path.write_bytes(b"this is not a MATLAB file at all, just some text\n" * 10)
    with pytest.raises(DataError) as err:
        read_array(path)
    check(err, path, "cannot read MAT file")


# --- refused arrays and files -------------------------------------------------------------


def test_four_d_array(tmp_path: Path) -> None:
    path = tmp_path / "4d.mat"
    scipy.io.savemat(path, {"x": np.ones((4, 5, 2, 3))})
    with pytest.raises(DataError) as err:
        read_array(path)
    check(err, path, "4-D array of shape 4x5x2x3", "expected a 2-D frame or a 3-D cine stack")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values(tmp_path: Path, bad: float) -> None:
    data = frame()
    data[2, 3] = data[4, 5] = bad
    path = tmp_path / "nan.tif"
    tifffile.imwrite(path, data)
    with pytest.raises(DataError) as err:
        read_array(path)
    check(err, path, "2 non-finite values")


def test_complex_array(tmp_path: Path) -> None:
    path = tmp_path / "iq.mat"
    scipy.io.savemat(path, {"iq": frame() + 1j * frame(seed=3)})
    v73 = write_mat73(tmp_path / "iq73.mat", {})
    with h5py.File(v73, "r+") as f:  # MATLAB stores complex as a compound {real, imag}
        pair = np.dtype([("real", "<f8"), ("imag", "<f8")])
        f.create_dataset("iq", data=np.zeros((6, 12), pair)).attrs["MATLAB_class"] = b"double"
    for file in (path, v73):
        with pytest.raises(DataError) as err:
            read_array(file)
        check(err, file, "complex array", "abs(iq)")


def test_unsupported_suffix_and_missing_and_corrupt_files(tmp_path: Path) -> None:
    jpg = tmp_path / "a.jpg"
    jpg.write_bytes(b"\xff\xd8")
    with pytest.raises(DataError) as err:
        read_array(jpg)
    check(err, jpg, "unsupported file type '.jpg'", ".mat, .tif, .tiff, .png")
    with pytest.raises(DataError) as err:
        read_array(tmp_path / "gone.png")
    check(err, tmp_path / "gone.png", "does not exist")
    for name in ("bad.png", "bad.tif"):
        (tmp_path / name).write_bytes(b"\x00garbage" * 20)
        with pytest.raises(DataError) as err:
            read_array(tmp_path / name)
        check(err, tmp_path / name, "cannot read")


# --- to_grayscale -----------------------------------------------------------------------


def test_to_grayscale_luminance_and_dtypes() -> None:
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[0, 1] = (0, 255, 0)
    rgb[1, 0] = (0, 0, 255)
    rgb[1, 1] = (10, 10, 10)
    grey = to_grayscale(rgb)
    assert grey.dtype == np.uint8
    np.testing.assert_array_equal(grey, [[76, 150], [29, 10]])
    np.testing.assert_allclose(to_grayscale(rgb.astype(np.float32) / 255)[0, 0], 0.299, rtol=1e-6)
    assert to_grayscale(rgb.astype(np.float32)).dtype == np.float32
    rgba = np.concatenate([rgb, np.zeros((2, 2, 1), np.uint8)], axis=-1)
    np.testing.assert_array_equal(to_grayscale(rgba), grey)  # alpha ignored
    flat = frame((3, 4), np.uint16)
    assert to_grayscale(flat) is flat


# --- masks ----------------------------------------------------------------------------


def binary(shape: tuple[int, ...] = (12, 8)) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[3:7, 2:5] = 1
    return mask


@pytest.mark.parametrize("scale", [1, 255])
def test_mask_01_and_0255(tmp_path: Path, scale: int) -> None:
    Image.fromarray(binary() * scale).save(tmp_path / "m.png")
    out = read_mask(tmp_path / "m.png")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, binary())


def test_mask_all_zero_and_all_foreground(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "z.png")
    Image.fromarray(np.full((4, 4), 255, np.uint8)).save(tmp_path / "f.png")
    assert read_mask(tmp_path / "z.png").max() == 0
    assert read_mask(tmp_path / "f.png").min() == 1


def test_mask_logical_v5_and_v73_and_float(tmp_path: Path) -> None:
    scipy.io.savemat(tmp_path / "a.mat", {"m": binary().astype(bool)})
    write_mat73(tmp_path / "b.mat", {"m": binary().astype(bool)})
    tifffile.imwrite(tmp_path / "c.tif", binary().astype(np.float32))
    for name in ("a.mat", "b.mat", "c.tif"):
        out = read_mask(tmp_path / name)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, binary())


def test_mask_not_binary_lists_values(tmp_path: Path) -> None:
    mask = binary() * 255
    mask[0, :4] = (3, 127, 200, 17)
    path = tmp_path / "m.png"
    Image.fromarray(mask).save(path)
    with pytest.raises(DataError) as err:
        read_mask(path)
    check(err, path, "mask is not binary", "[0, 3, 17, 127, 200, 255]", "data.mask_threshold")
    many = tmp_path / "many.png"
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(many)
    with pytest.raises(DataError) as err:
        read_mask(many)
    check(err, many, "64 distinct values [0, 1, 2, 3, 4, 5, 6, 7, ...]")


def test_mask_threshold_binarises_in_file_units(tmp_path: Path) -> None:
    mask = np.array([[0, 3, 127, 128, 200, 255]], np.uint8).repeat(2, axis=0)
    Image.fromarray(mask).save(tmp_path / "m.png")
    np.testing.assert_array_equal(
        read_mask(tmp_path / "m.png", threshold=127)[0], [0, 0, 0, 1, 1, 1]
    )
    soft = np.array([[0.0, 0.2, 0.6, 1.0]] * 2, np.float32)
    tifffile.imwrite(tmp_path / "s.tif", soft)
    np.testing.assert_array_equal(read_mask(tmp_path / "s.tif", threshold=0.5)[0], [0, 0, 1, 1])


def test_mask_threshold_leaves_binary_masks_alone(tmp_path: Path) -> None:
    Image.fromarray(binary()).save(tmp_path / "m.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png", threshold=127), binary())


def test_rgb_mask_with_equal_channels_accepted_unequal_refused(tmp_path: Path) -> None:
    grey = np.repeat((binary() * 255)[..., None], 3, axis=-1)
    Image.fromarray(grey).save(tmp_path / "m.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "m.png"), binary())
    red = grey.copy()
    red[..., 1:] = 0
    path = tmp_path / "red.png"
    Image.fromarray(red).save(path)
    with pytest.raises(DataError) as err:
        read_mask(path)
    check(err, path, "colour mask")


# --- iter_frames --------------------------------------------------------------------------


def make_pair(tmp_path: Path, image: np.ndarray, mask: np.ndarray, pid: str = "clip") -> SourcePair:
    (tmp_path / "images").mkdir(exist_ok=True)
    (tmp_path / "masks").mkdir(exist_ok=True)
    image_path, mask_path = tmp_path / "images" / f"{pid}.mat", tmp_path / "masks" / f"{pid}.mat"
    scipy.io.savemat(image_path, {"img": image})
    scipy.io.savemat(mask_path, {"mask": mask})
    return SourcePair(pid, image_path, mask_path)


def test_single_frame_record(tmp_path: Path) -> None:
    image = frame((12, 8), np.uint16)
    tifffile.imwrite(tmp_path / "p.tif", image)
    Image.fromarray(binary() * 255).save(tmp_path / "p_mask.png")
    records = list(iter_frames(SourcePair("p", tmp_path / "p.tif", tmp_path / "p_mask.png")))
    assert len(records) == 1
    (rec,) = records
    assert isinstance(rec, FrameRecord)
    assert (rec.id, rec.group, rec.source) == ("p", "p", tmp_path / "p.tif")
    assert rec.image.dtype == np.uint16
    np.testing.assert_array_equal(rec.image, image)
    np.testing.assert_array_equal(rec.mask, binary())


def test_rgb_png_image_becomes_grey_not_a_stack(tmp_path: Path) -> None:
    rgb = frame((12, 8, 3), np.uint8)
    Image.fromarray(rgb).save(tmp_path / "a.png")
    Image.fromarray(binary()).save(tmp_path / "m.png")
    (rec,) = iter_frames(SourcePair("a", tmp_path / "a.png", tmp_path / "m.png"))
    np.testing.assert_array_equal(rec.image, to_grayscale(rgb))


def test_cine_stack_yields_one_record_per_frame(tmp_path: Path) -> None:
    image = frame((32, 16, 5))
    masks = np.stack([np.roll(binary((32, 16)), k, axis=0) for k in range(5)], axis=-1)
    records = list(iter_frames(make_pair(tmp_path, image, masks)))
    assert [r.id for r in records] == [f"clip_f{k}" for k in range(5)]
    assert {r.group for r in records} == {"clip"}
    for k, rec in enumerate(records):
        assert rec.image.shape == (32, 16)
        np.testing.assert_array_equal(rec.image, image[..., k])
        np.testing.assert_array_equal(rec.mask, masks[..., k])


def test_cine_ids_are_zero_padded(tmp_path: Path) -> None:
    image = frame((6, 5, 12))
    masks = np.repeat(binary((6, 5))[..., None], 12, axis=-1)
    ids = [r.id for r in iter_frames(make_pair(tmp_path, image, masks))]
    assert ids[0] == "clip_f00" and ids[-1] == "clip_f11"
    assert ids == sorted(ids)


def test_frame_axis_option(tmp_path: Path) -> None:
    image = frame((4, 32, 16))  # frames first
    masks = np.stack([binary((32, 16))] * 4)
    records = list(iter_frames(make_pair(tmp_path, image, masks), frame_axis=0))
    assert len(records) == 4
    np.testing.assert_array_equal(records[2].image, image[2])


def test_cine_mask_stack_shape_mismatch(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, frame((32, 16, 5)), np.zeros((32, 16, 4), np.uint8))
    with pytest.raises(DataError) as err:
        list(iter_frames(pair))
    check(err, pair.mask, "32x16x4", "32x16x5", "clip.mat")


def test_stack_image_with_single_mask(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, frame((32, 16, 5)), binary((32, 16)))
    with pytest.raises(DataError) as err:
        list(iter_frames(pair))
    check(err, pair.mask, "2-D frame (32x16)", "3-D stack (32x16x5)")


def test_frame_size_mismatch(tmp_path: Path) -> None:
    pair = make_pair(tmp_path, frame((32, 16)), binary((32, 15)))
    with pytest.raises(DataError) as err:
        list(iter_frames(pair))
    check(err, pair.mask, "32x15", "32x16")


def test_constant_frame(tmp_path: Path) -> None:
    image = frame((8, 6, 3))
    image[..., 1] = 7.0
    pair = make_pair(tmp_path, image, np.zeros((8, 6, 3), np.uint8))
    with pytest.raises(DataError) as err:
        list(iter_frames(pair))
    check(err, pair.image, "frame 1 is constant (value 7)", "nothing to segment")
    flat = make_pair(tmp_path, np.full((8, 6), 3.0), np.zeros((8, 6), np.uint8), pid="flat")
    with pytest.raises(DataError) as err:
        list(iter_frames(flat))
    check(err, flat.image, "constant (value 3)")


def test_separate_mat_keys_for_image_and_mask(tmp_path: Path) -> None:
    image, mask = frame(), binary()
    scipy.io.savemat(tmp_path / "i.mat", {"env": image, "raw": image * 2})
    scipy.io.savemat(tmp_path / "m.mat", {"roi": mask, "other": mask})
    pair = SourcePair("x", tmp_path / "i.mat", tmp_path / "m.mat")
    (rec,) = iter_frames(pair, mat_key="env", mask_mat_key="roi")
    np.testing.assert_array_equal(rec.image, image)
    np.testing.assert_array_equal(rec.mask, mask)


def test_three_channel_mat_is_a_stack_not_colour(tmp_path: Path) -> None:
    image = frame((12, 8, 3))
    masks = np.repeat(binary()[..., None] * 255, 3, axis=-1).astype(np.uint8)
    records = list(iter_frames(make_pair(tmp_path, image, masks)))
    assert [r.id for r in records] == ["clip_f0", "clip_f1", "clip_f2"]
    np.testing.assert_array_equal(records[1].image, image[..., 1])


def test_mask_threshold_reaches_iter_frames(tmp_path: Path) -> None:
    # A bad frame_axis is refused by the config schema (test_config_schema.py).
    soft = binary().astype(np.float64) * 0.9 + 0.05
    pair = make_pair(tmp_path, frame(), soft)
    (rec,) = iter_frames(pair, mask_threshold=0.5)
    np.testing.assert_array_equal(rec.mask, binary())
