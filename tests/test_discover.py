"""Pairing images with masks in both folder layouts; every unexpected file is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from lus_unet.data.discover import discover_pairs, natural_key, scan_pairs
from lus_unet.data.pairs import SourcePair
from lus_unet.errors import ConfigError, DataError


def touch(root: Path, *names: str) -> None:
    """Create empty files (discovery pairs names, it never reads contents)."""
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def check(err: pytest.ExceptionInfo, path: Path, *fragments: str) -> None:
    """The DataError message is one line, starts with the path and names the problem."""
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_project_layout_pairs_by_stem_across_formats(tmp_path: Path) -> None:
    touch(tmp_path, "images/b.mat", "masks/b.png", "images/a.tif", "masks/a.TIFF")
    assert discover_pairs(tmp_path) == [
        SourcePair("a", tmp_path / "images/a.tif", tmp_path / "masks/a.TIFF"),
        SourcePair("b", tmp_path / "images/b.mat", tmp_path / "masks/b.png"),
    ]


def test_authors_layout_strips_prefixes(tmp_path: Path) -> None:
    touch(tmp_path, "IMG/img_lung_pos2_5.tif", "MASK/mask_lung_pos2_5.tif")
    touch(tmp_path, "IMG/img_lung_pos3_1.tif", "MASK/mask_lung_pos3_1.png")
    pairs = discover_pairs(tmp_path)
    assert [p.id for p in pairs] == ["lung_pos2_5", "lung_pos3_1"]
    assert pairs[0].image == tmp_path / "IMG/img_lung_pos2_5.tif"
    assert pairs[0].mask == tmp_path / "MASK/mask_lung_pos2_5.tif"


def test_authors_layout_file_without_prefix(tmp_path: Path) -> None:
    touch(tmp_path, "IMG/img_a.tif", "MASK/mask_a.tif", "MASK/a2.tif")
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path / "MASK/a2.tif", "'mask_' prefix")


def test_explicit_folders_override_detection(tmp_path: Path) -> None:
    touch(tmp_path, "Imgs/x1.png", "GT/x1.png", "images/ignored.png")
    pairs = discover_pairs(tmp_path, image_dir="Imgs", mask_dir="GT")
    assert pairs == [SourcePair("x1", tmp_path / "Imgs/x1.png", tmp_path / "GT/x1.png")]
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path, image_dir="Imgs", mask_dir="masks")
    check(err, tmp_path / "masks", "does not exist")
    with pytest.raises(ConfigError):
        discover_pairs(tmp_path, image_dir="Imgs")


def test_image_without_mask(tmp_path: Path) -> None:
    touch(tmp_path, "images/a.png", "images/b.png", "images/c.png", "masks/a.png")
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path / "images/b.png", "no mask for this image", "masks/b.<ext>", "1 more")


def test_authors_image_without_mask_names_expected_file(tmp_path: Path) -> None:
    touch(tmp_path, "IMG/img_p1.tif")
    (tmp_path / "MASK").mkdir()
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path / "IMG/img_p1.tif", "no mask", "MASK/mask_p1.<ext>")


def test_mask_without_image(tmp_path: Path) -> None:
    touch(tmp_path, "images/a.png", "masks/a.png", "masks/z.png")
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path / "masks/z.png", "no image for this mask", "images/z.<ext>")


def test_empty_images_folder(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    touch(tmp_path, "masks/a.png", "images/.DS_Store")
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path / "images", "no images found", ".mat, .tif, .tiff, .png")


def test_missing_root_and_missing_folders(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path / "nope")
    check(err, tmp_path / "nope", "data folder does not exist")
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path, "images/", "masks/", "IMG/", "MASK/")
    touch(tmp_path, "images/a.png")
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path / "masks", "does not exist")


def test_unexpected_file_is_an_error(tmp_path: Path) -> None:
    touch(tmp_path, "images/a.png", "masks/a.png", "images/b.jpg")
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path / "images/b.jpg", "unexpected file type", ".mat, .tif, .tiff, .png")
    (tmp_path / "images/b.jpg").unlink()
    touch(tmp_path, "masks/notes.txt")
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path / "masks/notes.txt", "unexpected file type")
    (tmp_path / "masks/notes.txt").unlink()
    (tmp_path / "images/more").mkdir()
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path / "images/more", "sub-folder")


def test_hidden_and_os_junk_files_are_ignored(tmp_path: Path) -> None:
    touch(tmp_path, "images/a.png", "masks/a.png", "images/.DS_Store", "images/._a.png")
    touch(tmp_path, "masks/Thumbs.db", "masks/desktop.ini", "images/.hidden")
    assert [p.id for p in discover_pairs(tmp_path)] == ["a"]


def test_same_stem_in_two_formats_is_ambiguous(tmp_path: Path) -> None:
    touch(tmp_path, "images/a.png", "images/a.tif", "masks/a.png")
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path / "images/a.tif", "ambiguous", "a.png")
    (tmp_path / "images/a.tif").unlink()
    touch(tmp_path, "masks/a.mat")
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path / "masks/a.png", "ambiguous", "a.mat")


def test_both_layouts_present_is_ambiguous(tmp_path: Path) -> None:
    touch(tmp_path, "images/a.png", "masks/a.png", "IMG/img_a.tif", "MASK/mask_a.tif")
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path, "ambiguous layout", "data.image_dir")


def test_natural_sort_is_deterministic(tmp_path: Path) -> None:
    ids = ["pos2_10", "pos2_2", "pos3_1", "pos2_1", "Pos2_3", "pos10_1"]
    touch(tmp_path, *(f"images/{i}.png" for i in ids), *(f"masks/{i}.png" for i in ids))
    expected = ["pos2_1", "pos2_2", "Pos2_3", "pos2_10", "pos3_1", "pos10_1"]
    assert [p.id for p in discover_pairs(tmp_path)] == expected
    assert sorted(["a007", "a7", "a08"], key=natural_key) == ["a007", "a7", "a08"]


def test_scan_collects_every_problem_and_pairs_the_rest(tmp_path: Path) -> None:
    touch(tmp_path, "images/a.png", "masks/a.png", "images/b.png", "images/c.png")
    touch(tmp_path, "masks/z.png", "images/d.png", "images/d.tif", "masks/d.png")
    touch(tmp_path, "images/notes.txt")
    scan = scan_pairs(tmp_path)
    assert [p.id for p in scan.pairs] == ["a"]  # d is ambiguous: neither file is chosen
    problems = {p.path.relative_to(tmp_path).as_posix(): p.problem for p in scan.problems}
    assert problems.keys() == {"images/b.png", "images/c.png", "masks/z.png", "images/d.tif"} | {
        "images/notes.txt"
    }
    assert problems["images/b.png"] == "no mask for this image (expected masks/b.<ext>)"
    assert problems["masks/z.png"] == "no image for this mask (expected images/z.<ext>)"
    assert "ambiguous: d.png has the same id 'd'" in problems["images/d.tif"]
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path)
    check(err, tmp_path / "images/d.tif", "4 more problems", "python -m lus_unet.check")


def test_jpeg_is_data_only_when_asked(tmp_path: Path) -> None:
    touch(tmp_path, "Images/x.jpg", "Grounds/x.png")
    with pytest.raises(DataError) as err:
        discover_pairs(tmp_path, "Images", "Grounds")
    check(err, tmp_path / "Images/x.jpg", "unexpected file type")
    pairs = discover_pairs(tmp_path, "Images", "Grounds", suffixes=(".png", ".jpg"))
    assert pairs == [SourcePair("x", tmp_path / "Images/x.jpg", tmp_path / "Grounds/x.png")]
