"""The paper's Table 1 grid as Hydra multiruns, then the report.

``python -m lus_unet.paper [--profile gpu|cpu] [--lus-root DIR] [--xpie-root DIR]
[--launcher joblib] [-- extra overrides]``

Each job runs its model's protocol (``conf/stages/``) on one data size and fold: V-UNet's
``tl`` then ``ft``, X-UNet's shared ``pretrain`` (trained once, cached) then ``ft``. Three
multiruns cover Table 1; a failing one does not stop the others, and the command ends with a
summary and a non-zero status. The LUS and salient-object folders are separate settings, so
each stage reads its own data.
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
class Job:
    """One multirun of the grid: a model's protocol, its fine-tuning strategy, its data sizes."""

    model: str
    finetune: str
    sizes: tuple[str, ...]

    @property
    def name(self) -> str:
        """Its folder under the grid's root: ``<model>_<finetune>``."""
        return f"{self.model}_{self.finetune}"


# Table 1: V-UNet TL and FT rows (lus200, lus400); X-UNet pre-training, FT-all (lus400,
# lus600) and FT-BBFrozen (lus400). Every row is cross-validated by fold, TL included: fold k's
# fine-tuning starts from weights that never saw fold k's validation frames.
GRID = (
    Job("vunet", "all", ("lus200", "lus400")),
    Job("xunet", "all", ("lus400", "lus600")),
    Job("xunet", "bottleneck_frozen", ("lus400",)),
)
# The authors' XPIE layout: JPEG images in Images/, masks in Grounds/.
XPIE_DIRS = ("Images", "Grounds")

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


@dataclass(frozen=True)
class DataFolders:
    """The grid's data: a LUS folder and a salient-object folder (None: the embedded sets).

    Attributes:
        lus_root: LUS frames and masks (``data.root``); the paper's sizes choose frames in it.
        xpie_root: salient-object images for X-UNet's pre-training, in ``Images/`` and
            ``Grounds/`` as XPIE is distributed.
    """

    lus_root: str | None = None
    xpie_root: str | None = None

    def overrides(self, model: str) -> list[str]:
        """The data overrides of one model's jobs."""
        found = [] if self.lus_root is None else [f"data.root={self.lus_root}"]
        if model == "xunet" and self.xpie_root is not None:
            images, masks = XPIE_DIRS
            pretrain = "stages.steps.pretrain.data"
            found += [
                f"{pretrain}.root={self.xpie_root}",
                f"{pretrain}.image_dir={images}",
                f"{pretrain}.mask_dir={masks}",
            ]
        return found

    def announce(self) -> None:
        """Say which data the grid runs on: a grid on the embedded sets is a demonstration."""
        for name, root, embedded in (
            ("LUS", self.lus_root, "the embedded synthetic LUS set"),
            ("salient-object", self.xpie_root, "the embedded synthetic salient-object set"),
        ):
            if root is None:
                log.warning("No %s folder given: the grid uses %s", name, embedded)
            else:
                log.info("%s data: %s", name, root)


def job_command(
    job: Job,
    profile: str,
    paper_dir: str,
    n_folds: int,
    launcher: str | None,
    extra: list[str],
    data: DataFolders | None = None,
) -> list[str]:
    """The multirun command line of one job of the grid.

    Args:
        job: the model, fine-tuning strategy and sizes.
        profile: the machine profile's name (``conf/paper/<profile>.yaml``).
        paper_dir: the root of the grid's run folders.
        n_folds: folds per data size.
        launcher: a Hydra launcher (None: Hydra's default, one job after another).
        extra: more overrides for every job, last.
        data: the data folders (None: the embedded sets).
    """
    machine = load_profile(profile)
    overrides = [
        f"model={job.model}",
        f"finetune={job.finetune}",
        f"size={','.join(job.sizes)}",
        f"+fold=range({n_folds})",
        f"paths.paper_dir={paper_dir}",
        # Predictable folders: <paper_dir>/<model>_<finetune>/<size>/fold_<k>/<stage>.
        f"hydra.sweep.dir={Path(paper_dir) / job.name}",
        "hydra.sweep.subdir=${data_size}/fold_${fold}",
    ]
    if launcher:
        overrides.append(f"hydra/launcher={launcher}")
    overrides += [*(data or DataFolders()).overrides(job.model)]
    overrides += [*machine.all, *machine.models[job.model]]
    return [sys.executable, "-m", "lus_unet.train", "-m", *overrides, *extra]


def run_grid(
    profile: str,
    paper_dir: str,
    n_folds: int = 5,
    launcher: str | None = None,
    extra: list[str] | None = None,
    jobs: tuple[Job, ...] = GRID,
    data: DataFolders | None = None,
) -> list[str]:
    """Run every job; return the names of the jobs whose multirun failed."""
    failed = []
    data = data or DataFolders()
    data.announce()
    for job in jobs:
        command = job_command(job, profile, paper_dir, n_folds, launcher, extra or [], data)
        log.info("Job %s: %s", job.name, " ".join(command[1:]))
        if subprocess.run(command, check=False).returncode != 0:
            log.error("Job %s failed (its runs are listed in the report)", job.name)
            failed.append(job.name)
    return failed


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m lus_unet.paper", description=__doc__)
    parser.add_argument("--profile", choices=profile_names(), default="gpu")
    parser.add_argument("--paper-dir", help="run folder root (default: the profile's paper_dir)")
    parser.add_argument("--folds", type=int, help="folds per size (default: the profile's)")
    parser.add_argument("--launcher", help="Hydra launcher, e.g. joblib or slurm")
    parser.add_argument("--lus-root", help="LUS data folder (default: the embedded set)")
    parser.add_argument(
        "--xpie-root",
        help="salient-object folder with Images/ and Grounds/ (default: the embedded set)",
    )
    parser.add_argument("extra", nargs="*", help="more Hydra overrides for every job")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    with exit_on_user_error():
        data = DataFolders(args.lus_root, args.xpie_root)
        for root in (args.lus_root, args.xpie_root):
            if root is not None and not Path(root).is_dir():
                raise ConfigError(f"{root}: no such data folder")
        profile = load_profile(args.profile)
        paper_dir = args.paper_dir or profile.paper_dir
        folds = args.folds or int(profile.folds)
        failed = run_grid(args.profile, paper_dir, folds, args.launcher, args.extra, data=data)
        build_report(Path(paper_dir), Path(paper_dir) / "report")
    if failed:
        log.error("Failed jobs: %s", ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
