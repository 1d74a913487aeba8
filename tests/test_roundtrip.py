"""Round trips: evaluate and predict read a run's data as its training did, for each data kind.

For a tiny run of each data kind (LUS cine stacks in MAT files; salient-object colour JPEGs in
an XPIE-style folder), ``python -m lus_unet.evaluate`` on the run's own validation split gives
the Dice that training logged, and ``python -m lus_unet.predict`` writes the masks validation
saw. The frames are stored at the network's size, so predict's masks need no resampling, and
the LUS clips store frames first, so the run's ``frame_axis`` must reach evaluate and predict.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import hydra
import numpy as np
import pytest
import scipy.io
import torch
from conftest import TINY_DATA, compose_config, run_modules, run_paths, tiny_overrides
from folders import blob_pair, write_array
from omegaconf import OmegaConf
from PIL import Image

from lus_unet.data.samples import FLIP_SUFFIX
from lus_unet.data.spec import spec_from_run_config
from lus_unet.evaluation.cases import split_cases
from lus_unet.evaluation.checkpoints import load_checkpoint
from lus_unet.metrics.batch import binarize
from lus_unet.run_folder import RunFolder
from lus_unet.train import train

SIZE = 32
# Enough to learn the blobs in 5 epochs (masks with edges, not "everything is foreground"):
# raw LUS frames keep the paper's recipe (despeckling) with a faster loss.
LEARN = {
    "lus": ["lr=1e-2", "loss=bce_dice"],
    "salient": ["recipe=modern", "lr=3e-3"],
}
FAST = ["trainer.max_epochs=5", "data.augment=none", "distance_metrics_every_n_epochs=0"]


def _lus_folder(root: Path, n_clips: int = 5, n_frames: int = 3) -> None:
    """Raw linear-envelope cine clips (frames first: ``frame_axis=0``) with mask stacks.

    Each frame is Rayleigh speckle whose amplitude is 30x (about 30 dB) higher on its mask.
    """
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(0)
    for clip in range(n_clips):
        masks = np.stack([blob_pair((SIZE, SIZE), clip * n_frames + k)[1] for k in range(n_frames)])
        frames = rng.rayleigh(1.0, masks.shape) * np.where(masks > 0, 30.0, 1.0)
        scipy.io.savemat(root / "images" / f"clip{clip}.mat", {"frames": frames})
        scipy.io.savemat(root / "masks" / f"clip{clip}.mat", {"masks": masks})


def _salient_folder(root: Path, n: int = 20) -> None:
    """Colour JPEG photos in ``Images/`` with 0/255 PNG masks in ``Grounds/`` (XPIE's names)."""
    for k in range(n):
        grey, mask = blob_pair((SIZE, SIZE), k)
        rgb = np.stack([grey, np.roll(grey, 3, axis=1), grey // 2], axis=-1)
        write_array(root / "Images" / f"img{k}.jpg", rgb)
        write_array(root / "Grounds" / f"img{k}.png", mask * np.uint8(255))


def _overrides(kind: str, root: Path) -> list[str]:
    common = [f"data.root={root}", f"data.image_size=[{SIZE},{SIZE}]", "data.hflip_copies=true"]
    if kind == "lus":
        return [*tiny_overrides(), *common, "data.frame_axis=0", *LEARN[kind], *FAST]
    model = [o for o in tiny_overrides() if o not in TINY_DATA]
    trainer = [o for o in TINY_DATA if not o.startswith("data.")]
    data = ["data=salient", "data.image_dir=Images", "data.mask_dir=Grounds"]
    loader = ["data.batch_size=4", "data.num_workers=0"]
    return [*model, *trainer, *data, *loader, *common, *LEARN[kind], *FAST]


@pytest.fixture(scope="module", params=["lus", "salient"])
def tiny_run(request, tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """A finished tiny run of one data kind on a data folder written at the network's size."""
    base = tmp_path_factory.mktemp(f"roundtrip_{request.param}")
    root = base / "data"
    (_lus_folder if request.param == "lus" else _salient_folder)(root)
    run = base / "run"
    train(compose_config("train", *run_paths(run, cache_dir), *_overrides(request.param, root)))
    return run


def _validation_masks(run: Path) -> dict[str, np.ndarray]:
    """What training's validation step thresholded, per validation sample, via its own loader."""
    loaded = load_checkpoint(RunFolder(run).best_checkpoint)
    config = loaded.run_config
    datamodule = hydra.utils.instantiate(
        config["data"], fold=config["fold"], seed=config["seed"], _convert_="all"
    )
    datamodule.prepare_data()
    datamodule.setup("validate")
    with torch.no_grad():
        logits = torch.cat([loaded.net(batch["image"]) for batch in datamodule.val_dataloader()])
    masks = binarize(logits, config["threshold"])[:, 0].numpy().astype(bool)
    return dict(zip(datamodule.split_info()["val"], masks, strict=True))


def test_evaluate_and_predict_reproduce_validation(tiny_run: Path, tmp_path: Path) -> None:
    folder = RunFolder(tiny_run)
    config = folder.read_config()
    image_dir = Path(config["data"]["root"]) / (config["data"]["image_dir"] or "images")
    evaluated, predicted = run_modules(
        [
            ("lus_unet.evaluate", [f"checkpoint={tiny_run}", f"output_dir={tmp_path / 'e'}"], {}),
            (
                "lus_unet.predict",
                [
                    f"checkpoint={tiny_run}",
                    f"input={image_dir}",
                    f"output_dir={tmp_path / 'p'}",
                    "overlays=false",
                ],
                {},
            ),
        ],
        cwd=tmp_path,
    )
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    split, trained = folder.read_split(), folder.read_metrics()
    summary = json.loads((tmp_path / "e" / "summary.json").read_text())
    assert summary["n_cases"] == len(split["val"])
    assert summary["metrics"]["dice"]["mean"] == pytest.approx(trained["val_dice"], abs=1e-5)

    validation = _validation_masks(tiny_run)
    assert set(validation) == set(split["val"])
    seen = np.stack(list(validation.values()))
    assert 0 < seen.mean() < 1  # the masks have edges: a wrong input would show
    frames = [i for i in split["val"] if not i.endswith(FLIP_SUFFIX)]
    assert frames
    for frame_id in frames:
        written = np.array(Image.open(tmp_path / "p" / "masks" / f"{frame_id}.png"))
        assert written.shape == (SIZE, SIZE)
        np.testing.assert_array_equal(written == 255, validation[frame_id], err_msg=frame_id)


def test_a_salient_runs_synthetic_set_is_regenerated_with_its_own_generator(
    tmp_path: Path,
) -> None:
    """Its validation cases are the very frames training loaded, after the set is deleted."""
    overrides = [
        "data=salient",
        f"data.image_size=[{SIZE},{SIZE}]",
        "data.synthetic.n_images=6",
        "data.cache=false",
    ]
    cfg = compose_config("train", *run_paths(tmp_path / "run", tmp_path / "cache"), *overrides)
    run_config = OmegaConf.to_container(cfg, resolve=True)
    run_config["fold"] = None
    spec = spec_from_run_config(run_config)
    spec.prepare()
    frames = spec.load()
    samples = spec.sample_table(frames.ids, frames.groups)
    val = [samples.ids[i] for i in spec.split_of(samples).val]
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    run.write_split({**spec.describe(), "val": val})
    shutil.rmtree(spec.data_root)

    root, cases = split_cases(run.path, spec)
    assert root == spec.data_root and root.is_dir()
    assert [case.id for case in cases] == val
    for case in cases:
        k = frames.ids.index(case.id)
        np.testing.assert_array_equal(case.image, frames.images[k])
        np.testing.assert_array_equal(case.mask, frames.masks[k])
