"""Exported models on the CPU: onnxruntime against torch, and what int8 quantisation costs.

Speed: the full X-UNet (random weights: values do not change the cost) exported to ONNX runs
through onnxruntime (every graph optimisation, intra-op threads = torch's threads) and, in the
same loop taking turns, through torch (eval, ``inference_mode``, channels_last and NCHW, the
same sigmoid), on the same batch. Accuracy: a small X-UNet is trained on the embedded set, exported
in float32 and dynamic int8, and both are scored by Dice on its validation split.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lus_unet.bench.flops import count_flops
from lus_unet.bench.timing import interleaved_times, median_ratio
from lus_unet.bench.workload import Workload
from lus_unet.deploy.exporter import ProbabilityGraph, write_onnx
from lus_unet.deploy.quantize import write_int8
from lus_unet.deploy.runtime import ExportedEnsemble, load_exported, onnx_session
from lus_unet.models import build_model

log = logging.getLogger(__name__)

# The paper's X-UNet and frames, at predict's smallest useful batch.
DEPLOY_SPEED = Workload(image_size=256, batch_size=2, repeats=8, warmup=1)


@dataclass(frozen=True)
class DiceRun:
    """The small training run whose validation Dice the int8 graph must keep.

    Attributes:
        overrides: ``python -m lus_unet.train`` overrides (minutes on 2 cores at most).
    """

    overrides: tuple[str, ...] = (
        "model=xunet",
        "stages=single",
        "model.base_channels=8",
        "recipe=modern",
        "lr=1e-2",
        "data.image_size=[64,64]",
        "data.batch_size=8",
        "data.num_workers=0",
        "data.n_frames=null",
        "data.hflip_copies=true",
        "data.synthetic.n_frames=40",
        "trainer.accelerator=cpu",
        "trainer.max_epochs=5",
        "++trainer.enable_model_summary=false",
    )


DICE_RUN = DiceRun()
_QUICK_SIZES = ("data.image_size=[32,32]", "trainer.max_epochs=2", "data.synthetic.n_frames=10")
QUICK_DICE_RUN = DiceRun(
    (
        *(
            o
            for o in DICE_RUN.overrides
            if o.split("=")[0]
            not in {"data.image_size", "trainer.max_epochs", "data.synthetic.n_frames"}
        ),
        *_QUICK_SIZES,
    )
)


def _bench_metadata(work: Workload) -> dict[str, Any]:
    """The metadata fields :func:`write_onnx` uses, for a network no checkpoint describes."""
    return {
        "model": f"xunet base_channels={work.base_channels}",
        "input_channels": 3,
        "input_size": [work.image_size, work.image_size],
    }


def sgemm_gflops(size: int = 2048, repeats: int = 5) -> float:
    """This machine's float32 matrix-product rate (torch.matmul, best of ``repeats``), GFLOP/s.

    A dense matrix product is the most efficient float32 work a CPU does, so it is the roof
    against which a runtime's convolutions are judged.
    """
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.rand(size, size, generator=generator) for _ in range(2))
    best = min(interleaved_times([lambda: a @ b], repeats)[:, 0])
    return 2 * size**3 / best / 1e9


def onnx_time_by_operator(
    path: Path, threads: int, feed: dict[str, np.ndarray]
) -> dict[str, float]:
    """Share of onnxruntime's kernel time per operator type in one profiled call of ``path``.

    The session is built as :func:`onnx_session` builds it, so the operators are those of
    the optimised graph (fused convolutions, layout reorders), largest share first.
    """
    profiled = onnx_session(path, threads, "cpu", profile=path.with_suffix(""))
    profiled.run(None, feed)  # the first call pays for allocation; time the second
    profiled.run(None, feed)
    events = json.loads(Path(profiled.end_profiling()).read_text())
    kernels = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    last_run = kernels[len(kernels) // 2 :]
    totals: dict[str, float] = {}
    for event in last_run:
        totals[event["args"]["op_name"]] = totals.get(event["args"]["op_name"], 0) + event["dur"]
    whole = sum(totals.values())
    return {op: t / whole for op, t in sorted(totals.items(), key=lambda kv: -kv[1])}


def measure_onnx_vs_torch(work: Workload = DEPLOY_SPEED, int8: bool = False) -> dict[str, Any]:
    """CPU inference frames/s of X-UNet through torch, onnxruntime and (optionally) int8 ONNX.

    torch runs in both memory layouts (channels_last and plain NCHW) and the ratio is taken
    against the faster one, so onnxruntime is compared with torch at its best on this CPU.

    Args:
        work: sizes and repeats (the calls take turns, ``warmup`` rounds untimed).
        int8: also time the dynamic int8 graph (off by default: onnxruntime's ConvInteger
            kernels ran it 3x slower than float32 torch on a 2-core x86 machine, 0.11 vs
            0.35 frames/s; int8 is offered for smaller files, not speed).

    Returns:
        ``onnx_vs_torch_cpu_infer_ratio`` (median over rounds of torch time / onnxruntime
        time), frames/s of each, the GFLOP/s each reaches beside this machine's float32
        matrix-product rate, and the settings.
    """
    torch.manual_seed(work.seed)
    net = build_model("xunet", base_channels=work.base_channels).eval()
    graph = ProbabilityGraph([net]).eval()
    threads = torch.get_num_threads()
    generator = torch.Generator().manual_seed(work.seed)
    x = torch.rand(work.batch_size, 3, work.image_size, work.image_size, generator=generator)
    x_last = x.contiguous(memory_format=torch.channels_last)
    graph_last = ProbabilityGraph([net]).to(memory_format=torch.channels_last).eval()
    x_numpy = x.numpy()

    def torch_call(model: torch.nn.Module, image: torch.Tensor) -> None:
        with torch.inference_mode():
            model(image)

    with tempfile.TemporaryDirectory() as scratch:
        metadata = _bench_metadata(work)
        float_file = Path(scratch) / "float32.onnx"
        write_onnx(graph, float_file, metadata)
        sessions = {"onnx": onnx_session(float_file, threads, "cpu")}
        if int8:
            int8_file = Path(scratch) / "int8.onnx"
            write_int8(float_file, int8_file, metadata)
            sessions["onnx_int8"] = onnx_session(int8_file, threads, "cpu")
        with torch.inference_mode():
            expected = graph(x).numpy()
        difference = float(
            np.abs(sessions["onnx"].run(None, {"image": x_numpy})[0] - expected).max()
        )
        calls = [
            lambda: torch_call(graph_last, x_last),
            lambda: torch_call(graph, x),
            *(lambda s=s: s.run(None, {"image": x_numpy}) for s in sessions.values()),
        ]
        times = interleaved_times(calls, work.repeats, work.warmup)
        by_operator = onnx_time_by_operator(float_file, threads, {"image": x_numpy})
    medians = np.median(times, axis=0)
    layouts = ("channels_last", "nchw")
    fastest = int(np.argmin(medians[:2]))
    flops, _ = count_flops(net, work.image_size, train=False, batch_size=work.batch_size)
    figures = {
        "onnx_vs_torch_cpu_infer_ratio": median_ratio(times[:, fastest], times[:, 2]),
        "cpu_torch_infer_frames_per_s": float(work.batch_size / medians[fastest]),
        "cpu_torch_layout": layouts[fastest],
        "cpu_torch_infer_frames_per_s_by_layout": {
            layout: float(work.batch_size / medians[i]) for i, layout in enumerate(layouts)
        },
        "cpu_onnx_infer_frames_per_s": float(work.batch_size / medians[2]),
        "cpu_infer_gflops": {
            "torch": flops / medians[fastest] / 1e9,
            "onnx": flops / medians[2] / 1e9,
        },
        "cpu_sgemm_gflops": sgemm_gflops(),
        "cpu_onnx_time_by_operator": by_operator,
        "onnx_vs_torch_max_probability_difference": difference,
        "deploy_setup": {**work.setup(), "threads": threads, "repeats": work.repeats},
    }
    if int8:
        figures["cpu_onnx_int8_infer_frames_per_s"] = float(work.batch_size / medians[3])
        figures["onnx_int8_vs_torch_cpu_infer_ratio"] = median_ratio(times[:, fastest], times[:, 3])
    return figures


def measure_int8_dice_drop(run: DiceRun = DICE_RUN) -> dict[str, Any]:
    """Validation Dice of a freshly trained small X-UNet: float32 ONNX minus dynamic int8.

    Returns:
        ``int8_dice_drop`` (fp32 Dice - int8 Dice; the goal is <= 0.005), both Dice values,
        the largest probability difference and the run's settings.
    """
    from hydra import compose, initialize_config_dir

    from lus_unet.evaluation.cases import split_cases
    from lus_unet.evaluation.checkpoints import load_checkpoint
    from lus_unet.export import export
    from lus_unet.metrics.overlap import dice
    from lus_unet.train import train
    from lus_unet.utils import CONFIG_DIR

    with (
        tempfile.TemporaryDirectory() as scratch,
        initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"),
    ):
        folder = Path(scratch)
        run_dir = folder / "run"
        train(compose("train", overrides=[*run.overrides, f"paths.output_dir={run_dir}"]))
        files = {}
        for precision, extra in (("float32", []), ("int8", ["quantize=int8"])):
            output = f"output={folder / precision}.onnx"
            cfg = compose("export", overrides=[f"checkpoint={run_dir}", output, *extra])
            files[precision] = Path(export(cfg)["files"][0])
        loaded = load_checkpoint(run_dir / "checkpoints" / "best.ckpt")
        _, cases = split_cases(loaded.run_dir, loaded.spec)
        images = np.stack([case.image for case in cases])
        probs = {p: ExportedEnsemble([load_exported(f, "cpu")])(images) for p, f in files.items()}
    scores = {
        p: float(np.mean([dice(m > 0.5, c.mask) for m, c in zip(v, cases, strict=True)]))
        for p, v in probs.items()
    }
    return {
        "int8_dice_drop": scores["float32"] - scores["int8"],
        "int8_dice": scores["int8"],
        "float32_dice": scores["float32"],
        "int8_max_probability_difference": float(np.abs(probs["float32"] - probs["int8"]).max()),
        "int8_setup": {"n_val": len(cases), "train_overrides": list(run.overrides)},
    }


def measure_deploy(speed: Workload = DEPLOY_SPEED, dice_run: DiceRun = DICE_RUN) -> dict[str, Any]:
    """The deploy section: speed ratio first, then the int8 Dice drop."""
    return {**measure_onnx_vs_torch(speed), **measure_int8_dice_drop(dice_run)}


QUICK_SPEED = replace(DEPLOY_SPEED, image_size=32, base_channels=4, repeats=1, warmup=1)
