"""The paper's Table 1 grid as Hydra multiruns, then the report.

``python -m lus_unet.paper [--profile gpu|cpu] [--launcher joblib] [-- extra overrides]``

Each stage is one multirun (``-m experiment=<stage> size=<sizes> +fold=range(5)``), run in
order because fine-tuning starts from the transfer-learning checkpoints. A failing stage
does not stop the others; the command ends with a summary and a non-zero status.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lus_unet.report.__main__ import build_report
from lus_unet.utils import exit_on_user_error

log = logging.getLogger("lus_unet.paper")


@dataclass(frozen=True)
class Stage:
    """One stage of the grid: an experiment preset, its data sizes, and whether it has folds."""

    experiment: str
    model: str
    sizes: tuple[str, ...] = ()
    cross_validated: bool = True


# Table 1, in dependency order. V-UNet TL runs per fold so that fold k's fine-tuning starts
# from weights that never saw fold k's validation frames (the paper used one TL split).
GRID = (
    Stage("vunet_tl", "vunet", ("lus200", "lus400")),
    Stage("vunet_ft", "vunet", ("lus200", "lus400")),
    Stage("xunet_pretrain", "xunet", cross_validated=False),
    Stage("xunet_ft_all", "xunet", ("lus400", "lus600")),
    Stage("xunet_ft_bbfrozen", "xunet", ("lus400",)),
)

# Overrides per profile: common ones, then per model. `cpu` shrinks everything (tiny widths,
# 32x32 frames, 3 epochs at 100x the paper's learning rates, the embedded data) so that the
# whole grid runs on 2 cores in about half an hour; its numbers only show the machinery works.
PROFILES: dict[str, dict[str, list[str]]] = {
    "gpu": {"all": ["trainer=gpu"], "xunet": [], "vunet": []},
    "cpu": {
        "all": [
            "trainer.accelerator=cpu",
            "trainer.max_epochs=3",
            # Keeps each stage's lr ratio (TL 1e-5 : FT 5e-6) while learning in 3 epochs.
            "lr_scale=100",
            "data.image_size=[32,32]",
            "data.num_workers=0",
            "image_log_every_n_epochs=1",
        ],
        "xunet": ["model.base_channels=8"],
        "vunet": ["model.encoder_weights=null"],  # no ImageNet file offline: random trunk
    },
}
PAPER_DIRS = {"gpu": "outputs/paper", "cpu": "outputs/paper-cpu"}


def stage_command(
    stage: Stage, profile: str, paper_dir: str, n_folds: int, launcher: str | None, extra: list[str]
) -> list[str]:
    """The multirun command line of one stage."""
    overrides = [f"experiment={stage.experiment}", f"paths.paper_dir={paper_dir}"]
    if stage.sizes:
        overrides.append(f"size={','.join(stage.sizes)}")
    if stage.cross_validated:
        overrides.append(f"+fold=range({n_folds})")
    if launcher:
        overrides.append(f"hydra/launcher={launcher}")
    overrides += PROFILES[profile]["all"] + PROFILES[profile][stage.model]
    return [sys.executable, "-m", "lus_unet.train", "-m", *overrides, *extra]


def run_grid(
    profile: str,
    paper_dir: str,
    n_folds: int = 5,
    launcher: str | None = None,
    extra: list[str] | None = None,
    stages: tuple[Stage, ...] = GRID,
) -> list[str]:
    """Run every stage; return the names of the stages whose multirun failed."""
    failed = []
    for stage in stages:
        command = stage_command(stage, profile, paper_dir, n_folds, launcher, extra or [])
        log.info("Stage %s: %s", stage.experiment, " ".join(command[1:]))
        if subprocess.run(command, check=False).returncode != 0:
            log.error("Stage %s failed (its jobs are listed in the report)", stage.experiment)
            failed.append(stage.experiment)
    return failed


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m lus_unet.paper", description=__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="gpu")
    parser.add_argument("--paper-dir", help="run folder root (default: outputs/paper[-cpu])")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--launcher", help="Hydra launcher, e.g. joblib or slurm")
    parser.add_argument("extra", nargs="*", help="more Hydra overrides for every stage")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    paper_dir = args.paper_dir or PAPER_DIRS[args.profile]
    with exit_on_user_error():
        failed = run_grid(args.profile, paper_dir, args.folds, args.launcher, args.extra)
        build_report(Path(paper_dir), Path(paper_dir) / "report")
    if failed:
        log.error("Failed stages: %s", ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
