"""A real training run on the GPU, measured: MFU and utilisation with loading, validation, logging.

``python -m lus_unet.bench.gpu_real --out <folder> [train overrides ...]`` trains as
``python -m lus_unet.train`` does (the same network, data module with its cached frames and
default workers, LightningModule, Trainer with its validation, checkpoints and TensorBoard
logging; default: the paper's X-UNet at 256x256, ``trainer=gpu``) and measures, per epoch:

- ``gpu_train_images_per_s``: training images over the wall time of the training batches
  (loading included, validation excluded), and ``epoch_images_per_s`` over the whole epoch;
- ``gpu_train_mfu``: that rate times the network's training FLOPs per image over the GPU's
  data-sheet dense bf16 peak (:mod:`lus_unet.bench.flops`);
- ``gpu_utilisation_mean``: ``nvidia-smi``'s utilisation sampled every 0.2 s across the epoch;
- ``profile_by_operator.txt``: torch.profiler's table by operator (CUDA and CPU time) over a
  window of training steps (5-15) of the last epoch: where the remaining time goes.

``scripts/gpu_check.sh`` runs it on a GPU host without network access. Results go to
``<out>/gpu_real.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from hydra import compose, initialize_config_dir
from lightning.pytorch.callbacks import Callback

import lus_unet.config.resolvers  # noqa: F401 - registers ${data_size:...} for the train config
from lus_unet.bench.flops import count_flops, peak_bf16_tflops
from lus_unet.run_folder import RunFolder
from lus_unet.training.build import build_datamodule, build_module, build_network, run_config
from lus_unet.training.trainer import build_trainer
from lus_unet.utils import CONFIG_DIR, write_json_atomic

log = logging.getLogger(__name__)

# One stage of the paper's X-UNet (no salient pre-training run first), 600 embedded frames.
DEFAULT_OVERRIDES = (
    "trainer=gpu",
    "stages=single",
    "trainer.max_epochs=3",
    "data.synthetic.n_frames=600",
)
_PROFILE_STEPS = (5, 15)  # steps of the last epoch inside the profiler window
_SAMPLE_S = 0.2


class _Utilisation:
    """``nvidia-smi`` utilisation samples of GPU 0 in a background thread (none without it)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.samples, self._stop = [], threading.Event()
        if shutil.which("nvidia-smi"):
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()

    def stop(self) -> list[float]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.samples

    def _poll(self) -> None:
        query = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
        while not self._stop.wait(_SAMPLE_S):
            done = subprocess.run(query, capture_output=True, text=True, check=False)
            first = done.stdout.strip().splitlines()[:1]
            if first and first[0].strip().isdigit():
                self.samples.append(float(first[0]))


class RealRunMeter(Callback):
    """Per-epoch rates, utilisation and a profiler window over the last epoch's steps.

    Args:
        flops_per_image: training FLOPs (forward + backward) of one image.
        out: where the profiler table goes.
    """

    def __init__(self, flops_per_image: float, out: Path) -> None:
        self.flops_per_image = flops_per_image
        self.out = out
        self.epochs: list[dict[str, Any]] = []
        self.utilisation = _Utilisation()
        self.profiler: torch.profiler.profile | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        _sync()
        self.epoch_start = time.perf_counter()
        self.images = 0
        self.train_end: float | None = None
        self.utilisation.start()

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        last = trainer.current_epoch == trainer.max_epochs - 1
        if last and batch_idx == _PROFILE_STEPS[0]:
            activities = [torch.profiler.ProfilerActivity.CPU]
            if torch.cuda.is_available():
                activities.append(torch.profiler.ProfilerActivity.CUDA)
            self.profiler = torch.profiler.profile(activities=activities)
            self.profiler.__enter__()

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self.images += len(batch["image"])
        if batch_idx == _PROFILE_STEPS[1]:
            self._write_profile()

    def _write_profile(self) -> None:
        """Close the profiler window (if open) and write its table by operator."""
        if self.profiler is None:
            return
        _sync()
        self.profiler.__exit__(None, None, None)
        sort = "cuda_time_total" if torch.cuda.is_available() else "cpu_time_total"
        table = self.profiler.key_averages().table(sort_by=sort, row_limit=40)
        (self.out / "profile_by_operator.txt").write_text(table + "\n")
        self.profiler = None

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write_profile()  # an epoch shorter than the window
        _sync()
        seconds = time.perf_counter() - self.epoch_start
        samples = self.utilisation.stop()
        self.epochs.append(
            {
                "epoch": trainer.current_epoch,
                "train_images": self.images,
                "train_seconds": (self.train_end or time.perf_counter()) - self.epoch_start,
                "epoch_seconds": seconds,
                "utilisation_mean": float(np.mean(samples)) if samples else None,
                "utilisation_samples": len(samples),
            }
        )

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            _sync()
            self.train_end = time.perf_counter()  # the epoch's training batches are done


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def measure_real_run(overrides: list[str], out: Path) -> dict[str, Any]:
    """Train as configured in ``out/run`` and return the figures (see the module docstring)."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose("train", overrides=[*overrides, f"paths.output_dir={out / 'run'}"])
    folder = RunFolder(out / "run")
    folder.path.mkdir(parents=True, exist_ok=True)
    stored = run_config(cfg, None)
    L.seed_everything(cfg.seed, workers=True)
    net, _ = build_network(cfg)
    size = int(cfg.data.image_size[0])
    flops, _ = count_flops(net, size, train=True)
    datamodule = build_datamodule(cfg, None)
    trainer, _ = build_trainer(cfg, folder, None)
    meter = RealRunMeter(flops, out)
    trainer.callbacks.append(meter)
    trainer.fit(build_module(cfg, net, stored), datamodule=datamodule)
    steady = meter.epochs[1:] or meter.epochs  # the first epoch compiles and autotunes
    train_rate = sum(e["train_images"] for e in steady) / sum(e["train_seconds"] for e in steady)
    epoch_rate = sum(e["train_images"] for e in steady) / sum(e["epoch_seconds"] for e in steady)
    name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    peak = peak_bf16_tflops(name)
    utilisation = [e["utilisation_mean"] for e in steady if e["utilisation_mean"] is not None]
    return {
        "gpu_train_images_per_s": train_rate,
        "epoch_images_per_s": epoch_rate,
        "gpu_train_mfu": train_rate * flops / (peak * 1e12) if peak else None,
        "gpu_utilisation_mean": float(np.mean(utilisation)) if utilisation else None,
        "device": name,
        "peak_bf16_tflops": peak,
        "train_flops_per_image": flops,
        "epochs": meter.epochs,
        "overrides": overrides,
    }


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m lus_unet.bench.gpu_real", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("outputs/bench-gpu"))
    parser.add_argument("overrides", nargs="*", help="train overrides (after the defaults)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args.out.mkdir(parents=True, exist_ok=True)
    results = measure_real_run([*DEFAULT_OVERRIDES, *args.overrides], args.out)
    write_json_atomic(args.out / "gpu_real.json", results)
    log.info("%s", json.dumps({k: v for k, v in results.items() if k != "epochs"}))


if __name__ == "__main__":
    main()
