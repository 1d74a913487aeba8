"""The README's table of what the default commands run, stage by stage, is what they compose."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from conftest import compose_config

from lus_unet.training.stages import stage_config, stage_names
from lus_unet.utils import PROJECT_ROOT

MARKER = "<!-- stages-table -->"
SALIENT, LUS = "SalientDataModule", "LUSDataModule"


def readme_rows() -> list[dict[str, str]]:
    """The rows of the README's stages table, as header -> cell."""
    text = (Path(PROJECT_ROOT) / "README.md").read_text()
    lines = text[text.index(MARKER) :].splitlines()[1:]
    table = [line for line in lines[: next(i for i, x in enumerate(lines) if not x.strip())]]
    header = [cell.strip() for cell in table[0].strip("|").split("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table[2:]]
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_table_covers_both_models_and_the_quick_start() -> None:
    commands = {row["command"] for row in readme_rows()}
    assert {
        "`python -m lus_unet.train`",
        "`python -m lus_unet.train model=vunet`",
        "`python -m lus_unet.train experiment=quickstart`",
    } <= commands


@pytest.mark.parametrize("row", readme_rows(), ids=lambda r: f"{r['command']} {r['stage']}")
def test_each_row_is_what_the_command_composes(row: dict[str, str], tmp_path) -> None:
    overrides = shlex.split(row["command"].strip("`"))[3:]  # after python -m lus_unet.train
    cfg = compose_config(
        "train", f"paths.output_dir={tmp_path}", f"paths.cache_dir={tmp_path}", *overrides
    )
    names = stage_names(cfg)
    if row["stage"] == "one stage":
        assert names == [] and row["folder"] == "`<run>/`"
        stage, previous = cfg, None
    else:
        name = row["stage"].strip("`")
        index = names.index(name)
        previous = names[index - 1] if index else None
        stage = stage_config(cfg, name, previous, tmp_path / name, None)
        shared = cfg.stages.steps[name].shared
        folder = f"`<cache_dir>/stages/{name}-<hash>/`" if shared else f"`<run>/{name}/`"
        assert row["folder"] == folder
    frozen = list(stage.finetune.freeze)
    assert frozen == ([] if row["frozen"] == "none" else [row["frozen"]])
    assert stage.lr * stage.lr_scale == pytest.approx(float(row["lr"]))
    assert stage.trainer.max_epochs == int(row["epochs"])
    kind, size, batch = (part.strip() for part in row["data"].split(","))
    assert stage.data._target_.endswith({"salient objects": SALIENT, "LUS": LUS}[kind])
    height, width = stage.data.image_size
    assert size == f"{height}x{width}" and batch == f"batch {stage.data.batch_size}"
    start = row["starts from"]
    if previous is not None:
        assert start == f"`{previous}`"
    elif start == "ImageNet VGG16 encoder":
        assert stage.model.name == "vunet" and stage.model.encoder_weights == "imagenet"
    else:
        assert start == "random weights" and stage.init_from is None
        assert re.fullmatch(r"xunet|reference", stage.model.name)
