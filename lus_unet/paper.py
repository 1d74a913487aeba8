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

from omegaconf import DictConfig, OmegaConf

from lus_unet.config.paper import PaperProfile
from lus_unet.config.validate import validate
from lus_unet.errors import ConfigError
from lus_unet.report.__main__ import build_report
from lus_unet.utils import CONFIG_DIR, exit_on_user_error

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

# The machine profiles: conf/paper/<profile>.yaml (train overrides and the run folder root).
PROFILE_DIR = Path(CONFIG_DIR) / "paper"


def profile_names() -> list[str]:
    """The profiles ``--profile`` takes: the files of ``conf/paper/``."""
    return sorted(path.stem for path in PROFILE_DIR.glob("*.yaml"))


def load_profile(name: str) -> DictConfig:
    """A profile, checked against :class:`~lus_unet.config.paper.PaperProfile`.

    Args:
        name: ``gpu``, ``cpu`` or another file's name in ``conf/paper/``.
    """
    path = PROFILE_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"--profile {name}: no {path}; valid: {', '.join(profile_names())}")
    profile = OmegaConf.load(path)
    validate(profile, PaperProfile)
    return profile


def stage_command(
    stage: Stage, profile: str, paper_dir: str, n_folds: int, launcher: str | None, extra: list[str]
) -> list[str]:
    """The multirun command line of one stage.

    Args:
        stage: the stage.
        profile: the machine profile's name (``conf/paper/<profile>.yaml``).
        paper_dir: the root of the grid's run folders.
        n_folds: folds per cross-validated stage.
        launcher: a Hydra launcher (None: Hydra's default, one job after another).
        extra: more overrides for every stage, last.
    """
    machine = load_profile(profile)
    overrides = [f"experiment={stage.experiment}", f"paths.paper_dir={paper_dir}"]
    if stage.sizes:
        overrides.append(f"size={','.join(stage.sizes)}")
    if stage.cross_validated:
        overrides.append(f"+fold=range({n_folds})")
    if launcher:
        overrides.append(f"hydra/launcher={launcher}")
    overrides += [*machine.all, *machine.models[stage.model]]
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
    parser.add_argument("--profile", choices=profile_names(), default="gpu")
    parser.add_argument("--paper-dir", help="run folder root (default: the profile's paper_dir)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--launcher", help="Hydra launcher, e.g. joblib or slurm")
    parser.add_argument("extra", nargs="*", help="more Hydra overrides for every stage")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    with exit_on_user_error():
        paper_dir = args.paper_dir or load_profile(args.profile).paper_dir
        failed = run_grid(args.profile, paper_dir, args.folds, args.launcher, args.extra)
        build_report(Path(paper_dir), Path(paper_dir) / "report")
    if failed:
        log.error("Failed stages: %s", ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
