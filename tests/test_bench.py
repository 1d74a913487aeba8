"""The benchmark suite: its smoke run (--quick) through the CLI, and its building blocks."""

from __future__ import annotations

import json
import math

import pytest
import torch

from lus_unet.bench.__main__ import main as bench_main
from lus_unet.bench.flops import count_flops, peak_bf16_tflops
from lus_unet.bench.gpu import measure_gpu_training
from lus_unet.bench.report import headline_table
from lus_unet.bench.throughput import workers_to_feed
from lus_unet.bench.timing import interleaved_times, median_ratio
from lus_unet.models import build_model, freeze_groups

# Keys the suite must report on any machine; the GPU ones only where there is a GPU.
CPU_KEYS = (
    "lightning_overhead",
    "frozen_encoder_step_ratio",
    "bottleneck_frozen_step_ratio",
    "loader_images_per_s_per_worker",
    "model_images_per_s",
    "despeckle_ms_per_frame",
    "despeckle_vs_skimage",
    "cpu_infer_frames_per_s",
    "onnx_vs_torch_cpu_infer_ratio",
    "int8_dice_drop",
)
GPU_KEYS = ("gpu_train_images_per_s", "gpu_train_mfu", "gpu_infer_frames_per_s")


@pytest.mark.slow
def test_quick_suite_writes_every_cpu_figure(tmp_path, capsys):
    bench_main(["--quick", "--out", str(tmp_path)])
    results = json.loads((tmp_path / "results.json").read_text())
    assert "errors" not in results, results.get("errors")
    for key in CPU_KEYS:
        value = results[key]
        assert isinstance(value, float) and math.isfinite(value), key
        # An overhead is a ratio minus one (negative when Lightning happened to be faster);
        # a Dice drop is a difference (negative when int8 happened to score higher).
        assert value > (-1 if key in ("lightning_overhead", "int8_dice_drop") else 0), key
    # The speed ratio is taken against torch's faster layout and set beside the matmul roof.
    by_layout = results["cpu_torch_infer_frames_per_s_by_layout"]
    assert results["cpu_torch_infer_frames_per_s"] == max(by_layout.values())
    assert by_layout[results["cpu_torch_layout"]] == max(by_layout.values())
    assert results["cpu_sgemm_gflops"] > 0 and min(results["cpu_infer_gflops"].values()) > 0
    shares = results["cpu_onnx_time_by_operator"]
    assert sum(shares.values()) == pytest.approx(1.0) and "Conv" in shares
    assert list(shares.values()) == sorted(shares.values(), reverse=True)
    if not torch.cuda.is_available():
        assert not [key for key in results if key.startswith("gpu_")]
    machine = results["machine"]
    assert machine["torch"] == torch.__version__ and machine["cpu_cores"] >= 1
    summary = (tmp_path / "summary.md").read_text()
    for text in (
        machine["cpu_model"],
        torch.__version__,
        *CPU_KEYS,
        "Lightning overhead",
        "GFLOP/s",
        "kernel time by operator (one profiled call): ",
    ):
        assert text in summary
    printed = capsys.readouterr().out
    assert "| `cpu_infer_frames_per_s` |" in printed


def test_interleaved_times_take_turns_and_sync():
    calls, syncs = [], []
    times = interleaved_times(
        [lambda: calls.append("a"), lambda: calls.append("b")],
        repeats=3,
        warmup=1,
        sync=lambda: syncs.append(1),
    )
    assert times.shape == (3, 2) and (times >= 0).all()
    assert calls == ["a", "b"] * 4  # one warm-up round, then three timed rounds in turn
    assert len(syncs) == 1 + 3 * 2
    assert median_ratio([2.0, 4.0, 9.0], [1.0, 1.0, 3.0]) == 3.0


def test_flop_counts_match_the_design_and_what_freezing_skips():
    xunet = build_model("xunet")
    forward, by_module = count_flops(xunet, 256, train=False)
    assert forward / 1e9 == pytest.approx(96.3, abs=0.05)  # DESIGN.md section 2
    training, _ = count_flops(xunet, 256, train=True)
    assert training / forward == pytest.approx(3.0, abs=0.01)
    # A frozen bottleneck still passes gradients down: only its weight gradients go, whose
    # cost equals its forward convolutions'.
    freeze_groups(xunet, ["bottleneck"])
    frozen, _ = count_flops(xunet, 256, train=True)
    assert training - frozen == pytest.approx(by_module["bottleneck"], rel=1e-6)
    assert all(p.device.type == "cpu" for p in xunet.parameters())  # counted on a copy

    # V-UNet's frozen trunk is its first module: both its backward passes go.
    vunet = build_model("vunet", encoder_weights=None)
    v_training, v_by_module = count_flops(vunet, 64, train=True)
    freeze_groups(vunet, ["encoder"])
    v_frozen, _ = count_flops(vunet, 64, train=True)
    assert v_training - v_frozen == pytest.approx(2 * v_by_module["encoder"], rel=0.02)


def test_peak_table_by_device_name():
    assert peak_bf16_tflops("NVIDIA H100 80GB HBM3") == pytest.approx(989.4)
    assert peak_bf16_tflops("NVIDIA H100 PCIe") == pytest.approx(756.0)
    assert peak_bf16_tflops("NVIDIA H200") == pytest.approx(989.4)
    assert peak_bf16_tflops("NVIDIA A100-SXM4-80GB") == pytest.approx(312.0)
    assert peak_bf16_tflops("Tesla T4") is None


def test_gpu_training_measurement_runs_on_any_device():
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rows = measure_gpu_training(
        batch_sizes=(2,),
        compile_modes=(False,),
        image_size=32,
        steps_per_call=1,
        repeats=1,
        device=device,
        base_channels=4,
    )
    assert len(rows) == 1 and rows[0]["batch_size"] == 2 and not rows[0]["compiled"]
    assert rows[0]["images_per_s"] > 0 and rows[0]["step_ms"] > 0


def test_workers_to_feed_rounds_up():
    assert workers_to_feed(2700.0, 80.0) == 34
    assert workers_to_feed(0.5, 80.0) == 1


def test_headline_table_marks_goals():
    table = headline_table({"lightning_overhead": 0.01, "frozen_encoder_step_ratio": 0.8})
    assert "| `lightning_overhead` | 0.01 | <= 0.03 | yes |" in table
    assert "| `frozen_encoder_step_ratio` | 0.8 | <= 0.70 | **no** |" in table
    assert "gpu_train_mfu" not in table  # absent figures are not invented
