"""The preprocessing cache: reused when nothing changed, rebuilt when anything did, never stale."""

from __future__ import annotations

import os
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from folders import make_folder

import lus_unet.data.frames as frames_module
from lus_unet.data.cache import CACHE_SUBDIR, load_frame_set_cached
from lus_unet.data.frames import ReadOptions, load_frame_set
from lus_unet.data.preprocess import PreprocessConfig
from lus_unet.data.spec import LUSSpec

PREPROCESS = PreprocessConfig(image_size=(16, 16))


@pytest.fixture
def counter(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the frames actually preprocessed (calls to preprocess_frame)."""
    calls = [0]
    original = frames_module.preprocess_frame

    def counting(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(frames_module, "preprocess_frame", counting)
    return calls


def cache_files(cache: Path) -> list[Path]:
    return sorted((cache / CACHE_SUBDIR).glob("*.h5"))


def load(root: Path, cache: Path, preprocess: PreprocessConfig = PREPROCESS, **read):
    return load_frame_set_cached(root, preprocess, ReadOptions(**read), cache)


def test_second_load_reads_the_cache_without_preprocessing(tmp_path, counter):
    root, cache = tmp_path / "data", tmp_path / "cache"
    make_folder(root, n=5)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    started = time.perf_counter()
    first = load(root, cache)
    first_seconds = time.perf_counter() - started
    assert counter[0] == 5
    started = time.perf_counter()
    second = load(root, cache)
    cached_seconds = time.perf_counter() - started
    assert counter[0] == 5  # nothing recomputed
    assert cached_seconds < first_seconds
    assert second.ids == first.ids and second.groups == first.groups
    assert second.kinds == first.kinds == ["log"] * 5
    np.testing.assert_array_equal(second.images, first.images)
    np.testing.assert_array_equal(second.masks, first.masks)
    assert second.images.dtype == np.float32 and second.masks.dtype == np.uint8
    # Identical to loading without the cache, and nothing was written into the data folder.
    fresh = load_frame_set(root, PREPROCESS)
    np.testing.assert_array_equal(fresh.images, second.images)
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_file_layout_and_fingerprint_attribute(tmp_path):
    root, cache = tmp_path / "data", tmp_path / "cache"
    make_folder(root, n=3)
    load(root, cache)
    (path,) = cache_files(cache)
    with h5py.File(path) as f:
        assert f["images"].shape == (3, 16, 16) and f["images"].chunks == (1, 16, 16)
        assert f["masks"].dtype == np.uint8
        assert list(f["ids"].asstr()[()]) == ["f0", "f1", "f2"]
        fingerprint = f.attrs["fingerprint"]
    assert '"images/f0.png"' in fingerprint and '"dynamic_range_db":60.0' in fingerprint


@pytest.mark.parametrize(
    "change",
    ["preprocess", "reader option", "touched file", "rewritten file", "added file"],
)
def test_any_change_rebuilds_under_a_new_key(tmp_path, counter, change):
    root, cache = tmp_path / "data", tmp_path / "cache"
    make_folder(root, n=3)
    load(root, cache)
    assert counter[0] == 3
    preprocess, read = PREPROCESS, {}
    if change == "preprocess":
        preprocess = PreprocessConfig(image_size=(16, 16), dynamic_range_db=40.0)
    elif change == "reader option":
        read = {"mask_threshold": 100.0}
    elif change == "touched file":
        stat = (root / "images/f1.png").stat()
        os.utime(root / "images/f1.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    elif change == "rewritten file":
        make_folder(root, n=1, size=(24, 18))  # f0 gets other content
    else:
        make_folder(root, n=4)
    rebuilt = load(root, cache, preprocess, **read)
    expected = 4 if change == "added file" else 3
    assert counter[0] == 3 + expected  # everything preprocessed again
    assert len(rebuilt) == expected
    assert len(cache_files(cache)) == 2  # the old entry is left alone, never overwritten
    load(root, cache, preprocess, **read)
    assert counter[0] == 3 + expected  # and the new one is reused


def test_a_change_never_serves_the_old_frames(tmp_path):
    root, cache = tmp_path / "data", tmp_path / "cache"
    make_folder(root, n=2)
    old = load(root, cache)
    make_folder(root, n=1, size=(30, 20))
    new = load(root, cache)
    assert not np.array_equal(old.images[0], new.images[0])
    np.testing.assert_array_equal(new.images, load_frame_set(root, PREPROCESS).images)


def test_foreign_or_corrupt_cache_file_is_rebuilt(tmp_path, counter, caplog):
    root, cache = tmp_path / "data", tmp_path / "cache"
    make_folder(root, n=2)
    load(root, cache)
    (path,) = cache_files(cache)
    path.write_bytes(b"not an HDF5 file")
    frames = load(root, cache)
    assert counter[0] == 4 and len(frames) == 2
    assert "unreadable" in caplog.text
    with h5py.File(path, "r+") as f:
        f.attrs["fingerprint"] = "{}"
    load(root, cache)
    assert counter[0] == 6
    assert "holds other data" in caplog.text


def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    root, cache = tmp_path / "data", tmp_path / "cache"
    make_folder(root, n=2)

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(h5py.Group, "create_dataset", fail)
    with pytest.raises(KeyboardInterrupt):
        load(root, cache)
    left = [p.name for p in (cache / CACHE_SUBDIR).iterdir() if p.suffix != ".lock"]
    assert left == []  # neither the file nor a temporary (the lock file may stay)


def test_spec_cache_switch(tmp_path, counter):
    root, cache = tmp_path / "data", tmp_path / "cache"
    make_folder(root, n=2)
    spec = LUSSpec(root=str(root), cache_dir=str(cache), cache=False, image_size=[16, 16])
    spec.load()
    spec.load()
    assert counter[0] == 4 and not (cache / CACHE_SUBDIR).exists()
    spec = LUSSpec(root=str(root), cache_dir=str(cache), image_size=[16, 16])
    spec.load()
    spec.load()
    assert counter[0] == 6 and len(cache_files(cache)) == 1
