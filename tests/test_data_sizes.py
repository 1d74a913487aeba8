"""Data sizes: the paper's sizes are nested, data.frames_file pins frames, a folder is used whole.

Sizes come from composing ``size=...`` (so the shipped size configs are what is tested) and
are applied by the sampling code the training and the data checker share.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import compose_config, run_module, run_paths
from folders import make_folder

from lus_unet.data.samples import FLIP_SUFFIX, build_sample_table, split_samples
from lus_unet.errors import ConfigError, DataError
from lus_unet.train import train
from lus_unet.utils import CONFIG_DIR

SIZES = ("lus200", "lus400", "lus600")
# The model's multi-stage protocol, where conf/stages/ defines one, is not under test here.
SINGLE_STAGE = ["stages=single"] if (Path(CONFIG_DIR) / "stages").is_dir() else []


def size_settings(size: str) -> tuple[int | None, bool]:
    """``(data.n_frames, data.hflip_copies)`` of ``size=<size>``, as composed."""
    cfg = compose_config("train", "paths.output_dir=out", f"size={size}")
    return cfg.data.n_frames, cfg.data.hflip_copies


def cine_ids(n: int) -> tuple[list[str], list[str]]:
    """``n`` frame ids, four frames per cine file (one split group each), as a folder gives."""
    ids = [f"clip{k // 4:03d}_f{k % 4}" for k in range(n)]
    return ids, [frame_id.rsplit("_f", 1)[0] for frame_id in ids]


def sources(size: str, n_available: int, **options) -> set[str]:
    """The source-frame ids (flip copies folded onto their frame) of one size."""
    n_frames, hflip = size_settings(size)
    ids, groups = cine_ids(n_available)
    table = build_sample_table(
        ids, groups, n_frames=n_frames, hflip_copies=hflip, seed=42, **options
    )
    return {sample.removesuffix(FLIP_SUFFIX) for sample in table.ids}


@pytest.mark.parametrize("n_available", [300, 500])
def test_lus200_in_lus400_in_lus600(n_available: int) -> None:
    lus200, lus400, lus600 = (sources(size, n_available) for size in SIZES)
    assert (len(lus200), len(lus400), len(lus600)) == (200, 200, 300)
    assert lus200 == lus400 < lus600  # 400 = the 200 plus flips; 600 adds 100 frames
    # Every frame of lus600 is there with its flip.
    n_frames, hflip = size_settings("lus600")
    table = build_sample_table(
        *cine_ids(n_available), n_frames=n_frames, hflip_copies=hflip, seed=42
    )
    assert sorted(table.ids) == sorted([*lus600, *(f"{i}{FLIP_SUFFIX}" for i in lus600)])


def test_the_seed_orders_the_frames_once() -> None:
    ids, groups = cine_ids(500)
    other = build_sample_table(ids, groups, n_frames=200, hflip_copies=False, seed=7).ids
    assert set(other) != sources("lus200", 500)  # another seed, other frames
    # With any seed, a smaller size is a prefix of the same order.
    for seed in (0, 7, 123):
        small = build_sample_table(ids, groups, n_frames=200, hflip_copies=False, seed=seed).ids
        large = build_sample_table(ids, groups, n_frames=300, hflip_copies=False, seed=seed).ids
        assert set(small) < set(large)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("fold", [0, 3])
def test_nested_sizes_keep_splits_grouped(size: str, fold: int) -> None:
    n_frames, hflip = size_settings(size)
    ids, groups = cine_ids(500)
    table = build_sample_table(ids, groups, n_frames=n_frames, hflip_copies=hflip, seed=42)
    split = split_samples(table, mode="grouped", fold=fold, n_folds=5, val_fraction=0.2, seed=42)
    train_groups = {table.groups[i] for i in split.train}
    val_groups = {table.groups[i] for i in split.val}
    # A frame, its flip and the other frames of its cine file are on one side.
    assert not train_groups & val_groups
    assert len(split.train) + len(split.val) == len(table)


# --- data.frames_file ----------------------------------------------------------------------


def test_frames_file_pins_the_frames_and_sizes_take_its_first_ones(tmp_path: Path) -> None:
    ids, groups = cine_ids(40)
    listed = [ids[k] for k in (31, 2, 17, 8, 25, 11)]
    frames_file = tmp_path / "frames.txt"
    frames_file.write_text("# the paper's frames, the 400 set first\n" + "\n".join(listed) + "\n\n")
    every = build_sample_table(
        ids, groups, n_frames=None, hflip_copies=True, seed=1, frames_file=frames_file
    )
    assert sorted(every.ids) == sorted([*listed, *(f"{i}{FLIP_SUFFIX}" for i in listed)])
    first = build_sample_table(
        ids, groups, n_frames=4, hflip_copies=False, seed=99, frames_file=frames_file
    )
    assert set(first.ids) == set(listed[:4])  # the file's order, not the seed's
    with pytest.raises(ConfigError) as error:
        build_sample_table(
            ids, groups, n_frames=7, hflip_copies=False, seed=1, frames_file=frames_file
        )
    assert str(error.value) == f"data.n_frames=7: data.frames_file {frames_file} lists 6 frames"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "data.frames_file lists no frame id (one source-frame id per line)"),
        ("\n# only a comment\n  \n", "data.frames_file lists no frame id (one source-frame id"),
        (
            "clip000_f0\nclip001_f1\nclip000_f0\n",
            "data.frames_file lists frame id 'clip000_f0' twice (lines 1 and 3)",
        ),
        (
            "clip000_f0\nnope\nclip999_f0\n",
            "data.frames_file lists 2 id(s) not in the data set ('nope', 'clip999_f0'); ids are "
            "file stems (frame k of a cine file: <stem>_f<k>), e.g. 'clip000_f0'",
        ),
        (
            "clip000_f0_hflip\n",
            "data.frames_file lists 1 id(s) not in the data set ('clip000_f0_hflip'); list "
            "source frames, not flip copies",
        ),
    ],
    ids=["empty", "comments only", "duplicate", "unknown", "flip copy"],
)
def test_a_bad_frames_file_is_one_line_naming_it(tmp_path: Path, text: str, problem: str) -> None:
    frames_file = tmp_path / "frames.txt"
    frames_file.write_text(text)
    with pytest.raises(DataError) as error:
        build_sample_table(
            *cine_ids(20), n_frames=None, hflip_copies=False, seed=0, frames_file=frames_file
        )
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{frames_file}: {problem}")


def test_an_unreadable_frames_file_is_named(tmp_path: Path) -> None:
    frames_file = tmp_path / "frames.txt"
    frames_file.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(DataError, match=r"cannot read the frames file \(data\.frames_file\)"):
        build_sample_table(
            *cine_ids(4), n_frames=None, hflip_copies=False, seed=0, frames_file=frames_file
        )


# --- a user's folder, used whole -----------------------------------------------------------


def test_a_64_frame_folder_is_checked_and_trained_whole_by_default(
    tmp_path: Path, cache_dir: Path
) -> None:
    root = tmp_path / "data"
    make_folder(root, n=64, size=(32, 32))
    check = run_module("lus_unet.check", "data=lus", f"data.root={root}", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "51 train / 13 val of 64 samples" in check.stdout

    # The paper's sizes are asked for, never assumed.
    small = run_module("lus_unet.check", f"data.root={root}", "size=lus400", cwd=tmp_path)
    assert small.returncode == 1
    assert "data.n_frames=200: the data set has 64 frames (size=all uses every frame)" in (
        small.stdout + small.stderr
    )

    run = tmp_path / "run"
    metrics = train(
        compose_config(
            "train",
            *run_paths(run, cache_dir),
            *SINGLE_STAGE,
            f"data.root={root}",
            "model=xunet",
            "model.base_channels=4",
            "data.image_size=[32,32]",
            "data.batch_size=8",
            "data.num_workers=0",
            "trainer.accelerator=cpu",
            "trainer.max_epochs=1",
            "++trainer.enable_progress_bar=false",
            "++trainer.enable_model_summary=false",
        )
    )
    assert metrics["n_train"] + metrics["n_val"] == 64
    split = json.loads((run / "split.json").read_text())
    assert not any(s.endswith(FLIP_SUFFIX) for s in split["train"] + split["val"])
