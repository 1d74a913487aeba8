"""The config schema: every shipped config passes it, every refused value names its key.

Composes only (no training, no data): the entry points' own calls are in
``test_cli_errors.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args, get_type_hints

import pytest
from conftest import compose_config

from lus_unet.config import train as train_schema
from lus_unet.config.compare import CompareConfig
from lus_unet.config.data import CheckConfig, LUSData, SalientData
from lus_unet.config.inference import EvaluateConfig, PredictConfig
from lus_unet.config.model import ReferenceModel, SummaryConfig, VUNetModel, XUNetModel
from lus_unet.config.resolvers import data_size
from lus_unet.config.run_dir import file_in_the_way
from lus_unet.config.train import TrainConfig
from lus_unet.config.validate import validate
from lus_unet.data.spec import SPECS
from lus_unet.errors import ConfigError, DataError
from lus_unet.models import MODEL_NAMES
from lus_unet.paper import load_profile, profile_names
from lus_unet.utils import CONFIG_DIR

CONF = Path(CONFIG_DIR)
TRAIN_PATHS = ("paths.output_dir=out",)


def options(group: str) -> list[str]:
    """The configs of a group folder of ``conf/``."""
    return sorted(path.stem for path in (CONF / group).glob("*.yaml"))


def train_cases() -> list[tuple[str, ...]]:
    """Each option of each train group, the others at their defaults."""
    cases: list[tuple[str, ...]] = [()]
    for group in ("model", "finetune", "data", "trainer", "recipe", "size"):
        # The reference U-Net has no norm or activation keys: it comes with its recipe.
        cases += [
            (f"{group}={name}", *(("recipe=reference",) if name == "reference" else ()))
            for name in options(group)
        ]
    cases += [(f"experiment={name}",) for name in options("experiment") if name != "paper_stage"]
    return cases


@pytest.fixture
def with_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend there are two GPUs, so that trainer=gpu|ddp composes on any machine."""
    monkeypatch.setattr(train_schema.torch.cuda, "device_count", lambda: 2)


@pytest.mark.usefixtures("with_gpus")
@pytest.mark.parametrize("overrides", train_cases(), ids=lambda o: " ".join(o) or "defaults")
def test_every_train_config_passes_the_schema(overrides: tuple[str, ...]) -> None:
    validate(compose_config("train", *TRAIN_PATHS, *overrides), TrainConfig)


@pytest.mark.parametrize(
    ("config", "schema", "overrides"),
    [
        ("evaluate", EvaluateConfig, ("checkpoint=run",)),
        ("predict", PredictConfig, ("checkpoint=run", "input=frames")),
        ("summary", SummaryConfig, ()),
        ("summary", SummaryConfig, ("model=vunet", "finetune=encoder_frozen")),
        ("summary", SummaryConfig, ("model=reference",)),
        ("compare", CompareConfig, ("paths.output_dir=out",)),
        ("check", CheckConfig, ()),
        ("check", CheckConfig, ("data=salient",)),
        ("check", CheckConfig, ("size=lus600",)),
    ],
)
def test_every_entry_config_passes_its_schema(config, schema, overrides) -> None:
    validate(compose_config(config, *overrides), schema)


def test_the_paper_profiles_pass_their_schema() -> None:
    assert profile_names() == ["cpu", "gpu", "gpu_bf16"]
    assert load_profile("cpu").paper_dir == "outputs/paper-cpu"
    assert "trainer=gpu" in load_profile("gpu").all


def test_the_schema_knows_every_model_and_data_module() -> None:
    models = (XUNetModel, VUNetModel, ReferenceModel)
    assert tuple(get_args(get_type_hints(m)["name"])[0] for m in models) == MODEL_NAMES
    data = (LUSData, SalientData)
    assert {get_args(get_type_hints(d)["_target_"])[0] for d in data} == set(SPECS)


# override -> the whole one-line message (the moved checks of build_model, DataSpec, ...).
REFUSED = {
    "model.name=resnet": "model.name=resnet: unknown value; valid: xunet, vunet, reference",
    "+model.encoder_weights=imagenet": (
        "model.encoder_weights: unknown key; valid: name, base_channels, decoder_convs, norm, "
        "activation"
    ),
    "model.norm=layer": "model.norm=layer: unknown value; valid: none, batch, instance, group",
    "model.base_channels=[4]": "model.base_channels=[4]: must be an integer",
    "finetune.freeze=[decoderr]": (
        "finetune.freeze=[decoderr]: item 0 unknown value; valid: encoder, bottleneck, decoder, "
        "head"
    ),
    "+data.colour=red": "data.colour: unknown key; valid: root, cache_dir, cache, image_dir, "
    "mask_dir, image_size, batch_size, num_workers, n_folds, val_fraction, n_frames, "
    "hflip_copies, frames_file, group_by, split, augment, mask_threshold, max_pixels, _target_, "
    "mat_key, mask_mat_key, frame_axis, preprocess, synthetic",
    "data.augment=Keras": "data.augment=Keras: unknown value; valid: none, keras, strong, hflip",
    "data.split=random": "data.split=random: unknown value; valid: grouped, leaky_paper",
    "data.synthetic.profile=fancy": (
        "data.synthetic.profile=fancy: unknown value; valid: standard, realistic"
    ),
    "data.frame_axis=3": "data.frame_axis=3: must be between -3 and 2",
    "data.num_workers=-1": "data.num_workers=-1: must be at least 0",
    "data.val_fraction=1": "data.val_fraction=1: must be between 0 and 1, exclusive",
    "data.n_frames=0": "data.n_frames=0: must be at least 1",
    "data.preprocess.kind=square": (
        "data.preprocess.kind=square: unknown value; valid: auto, linear, log"
    ),
    "data.preprocess.despeckle=maybe": (
        "data.preprocess.despeckle=maybe: unknown value; valid: auto, true, false"
    ),
    # The recipe's value is checked where data=lus reads it.
    "recipe.despeckle=1": "data.preprocess.despeckle=1: unknown value; valid: auto, true, false",
    "data.frames_file=[a]": "data.frames_file=[a]: must be a string or null",
    "checkpoint.monitor=val/iou": (
        "checkpoint.monitor=val/iou: unknown value; valid: val/loss, val/dice"
    ),
    "+checkpoint.mode=max": "checkpoint.mode: unknown key; valid: monitor",
    "loss=dicece": "loss=dicece: unknown value; valid: dice, bce, bce_dice, dice_ce",
    "threshold=1": "threshold=1: must be between 0 and 1, exclusive",
    "resume=yes": "resume=yes: must be true or false",
    "seed=-1": "seed=-1: must be between 0 and 4294967295",
    "init_from=3": "init_from=3: must be a string or null",
    "trainer.max_epochs=0": (
        "trainer.max_epochs=0: must be an integer >= 1 (Lightning's -1, training without end, "
        "is refused)"
    ),
    "trainer.accelerator=tpu": "trainer.accelerator=tpu: unknown value; valid: auto, cpu, gpu, "
    "cuda, mps",
    "performance.compile=maybe": "performance.compile=maybe: must be true or false",
    "data.mask_threshold=-1": "data.mask_threshold=-1: must be >= 0",
    "data.cache_dir=???": "data.cache_dir=???: needs a value",
}


@pytest.mark.parametrize("override", REFUSED)
def test_a_refused_value_is_one_line_naming_key_value_and_what_is_allowed(override) -> None:
    with pytest.raises(ConfigError) as error:
        validate(compose_config("train", *TRAIN_PATHS, override), TrainConfig)
    assert str(error.value) == REFUSED[override]


def test_the_reference_unet_refuses_the_options_of_x_unet() -> None:
    cfg = compose_config(
        "train", *TRAIN_PATHS, "model=reference", "recipe=reference", "+model.base_channels=4"
    )
    with pytest.raises(ConfigError, match=r"^model\.base_channels: unknown key; valid: name, f"):
        validate(cfg, TrainConfig)


def test_salient_data_refuses_the_keys_of_lus_data() -> None:
    cfg = compose_config("train", *TRAIN_PATHS, "data=salient", "+data.mat_key=frame")
    with pytest.raises(ConfigError, match=r"^data\.mat_key: unknown key; valid: root,"):
        validate(cfg, TrainConfig)
    cfg = compose_config("train", *TRAIN_PATHS, "data=salient", "+data.synthetic.n_frames=5")
    with pytest.raises(ConfigError, match=r"^data\.synthetic\.n_frames: unknown key; valid: n_i"):
        validate(cfg, TrainConfig)


def test_sgd_momentum_is_checked_only_for_sgd() -> None:
    validate(compose_config("train", *TRAIN_PATHS, "optimizer.momentum=0"), TrainConfig)
    cfg = compose_config("train", *TRAIN_PATHS, "optimizer.name=sgd", "optimizer.momentum=1")
    with pytest.raises(ConfigError, match=r"^optimizer\.momentum=1: must be between 0 and 1, ex"):
        validate(cfg, TrainConfig)


def test_a_gpu_needs_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = compose_config("train", *TRAIN_PATHS, "trainer=gpu")
    monkeypatch.setattr(train_schema.torch.cuda, "device_count", lambda: 0)
    with pytest.raises(ConfigError, match=r"^trainer\.accelerator=gpu: no CUDA GPU"):
        validate(cfg, TrainConfig)
    monkeypatch.setattr(train_schema.torch.cuda, "device_count", lambda: 1)
    validate(cfg, TrainConfig)
    cfg = compose_config("train", *TRAIN_PATHS, "trainer=gpu", "trainer.devices=2")
    with pytest.raises(ConfigError, match=r"^trainer\.devices=2: this machine has 1 GPU\(s\)"):
        validate(cfg, TrainConfig)


def test_a_missing_data_folder_is_a_data_error(tmp_path: Path) -> None:
    cfg = compose_config("train", *TRAIN_PATHS, f"data.root={tmp_path / 'nope'}")
    with pytest.raises(DataError, match=r"data folder does not exist \(data\.root\)"):
        validate(cfg, TrainConfig)


def test_a_missing_frames_file_is_a_data_error(tmp_path: Path) -> None:
    missing = tmp_path / "frames.txt"
    cfg = compose_config("train", *TRAIN_PATHS, f"data.frames_file={missing}")
    with pytest.raises(DataError) as error:
        validate(cfg, TrainConfig)
    assert str(error.value) == f"{missing}: frames file does not exist (data.frames_file)"


@pytest.mark.parametrize(
    ("config", "overrides", "message"),
    [
        ("evaluate", (), "checkpoint=<.ckpt file | run folder | CV run folder> is required"),
        ("evaluate", ("checkpoint=[]",), "checkpoint=<.ckpt file | run folder | CV run"),
        ("evaluate", ("checkpoint=run", "spacing_mm=[0.1]"), "spacing_mm=[0.1]: needs [dy, dx]"),
        ("evaluate", ("checkpoint=run", "device=gpu"), "device=gpu: must be auto, cpu, mps, cu"),
        ("predict", ("checkpoint=run",), "input=<frame file or folder of frames> is required"),
        ("predict", ("checkpoint=run", "input=f", "frame_axis=x"), "frame_axis=x: must be an"),
        ("predict", ("checkpoint=run", "input=f", "frame_axis=3"), "frame_axis=3: must be betw"),
        ("predict", ("checkpoint=run", "input=f", "threshold=0"), "threshold=0: must be between"),
        ("evaluate", ("checkpoint=run", "data.frame_axis=-4"), "data.frame_axis=-4: must be"),
        ("evaluate", ("checkpoint=run", "batch_size=0"), "batch_size=0: must be at least 1"),
        ("compare", ("folds=[]", *TRAIN_PATHS), "folds=[]: needs a list of folds"),
        ("compare", ("reference=mine", *TRAIN_PATHS), "reference=mine: not an entry; entries:"),
        ("compare", ("budget.image_size=[20,20]", *TRAIN_PATHS), "budget.image_size=[20, 20]"),
        ("check", ("seed=abc",), "seed=abc: must be an integer"),
    ],
)
def test_entry_configs_refuse_values_naming_the_key(config, overrides, message) -> None:
    schema = {
        "evaluate": EvaluateConfig,
        "predict": PredictConfig,
        "compare": CompareConfig,
        "check": CheckConfig,
    }[config]
    with pytest.raises(ConfigError) as error:
        validate(compose_config(config, *overrides), schema)
    assert str(error.value).startswith(message)


def test_data_size_names_the_samples_a_run_trains_on() -> None:
    lus, salient = (next(t for t in SPECS if SPECS[t].kind == k) for k in ("lus", "salient"))
    assert [data_size(lus, 200, False), data_size(lus, 200, True), data_size(lus, 300, True)] == [
        "lus200",
        "lus400",
        "lus600",
    ]
    assert data_size(lus, None, False) == "lus_all" and data_size(salient, None, False) == "salient"
    cfg = compose_config("train", *TRAIN_PATHS, "size=lus600")
    assert (cfg.data_size, cfg.trainer.max_epochs) == ("lus600", 150)
    assert compose_config("train", *TRAIN_PATHS, "experiment=xunet_pretrain").data_size == "salient"


def test_a_file_in_the_way_of_the_output_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    assert file_in_the_way("hydra.run.dir", str(tmp_path / "run")) is None
    problem = file_in_the_way("hydra.run.dir", str(tmp_path / "f" / "run"))
    assert problem == (
        f"hydra.run.dir={tmp_path / 'f' / 'run'}: {tmp_path / 'f'} is a file, not a folder; "
        "choose another output folder"
    )
