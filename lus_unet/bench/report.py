"""The suite's outputs: results.json and a Markdown summary that explains each figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lus_unet.bench.flops import PEAK_BF16_TFLOPS, SUSTAINED_BF16_TFLOPS
from lus_unet.utils import write_json_atomic, write_text_atomic

# (key, goal as text, test of the value): the targets.
GOALS: tuple[tuple[str, str, Any], ...] = (
    ("lightning_overhead", "<= 0.03", lambda v: v <= 0.03),
    ("frozen_encoder_step_ratio", "<= 0.70", lambda v: v <= 0.70),
    ("cpu_infer_frames_per_s", ">= 2", lambda v: v >= 2),
    ("onnx_vs_torch_cpu_infer_ratio", ">= 1.5", lambda v: v >= 1.5),
    ("int8_dice_drop", "<= 0.005", lambda v: v <= 0.005),
    ("gpu_train_mfu", ">= 0.5", lambda v: v >= 0.5),
)
HEADLINE = (
    "lightning_overhead",
    "frozen_encoder_step_ratio",
    "frozen_encoder_flop_ratio",
    "bottleneck_frozen_step_ratio",
    "loader_images_per_s_per_worker",
    "model_images_per_s",
    "despeckle_ms_per_frame",
    "despeckle_vs_skimage",
    "cpu_infer_frames_per_s",
    "cpu_infer_frames_per_s_idle_estimate",
    "cpu_torch_infer_frames_per_s",
    "cpu_onnx_infer_frames_per_s",
    "onnx_vs_torch_cpu_infer_ratio",
    "int8_dice_drop",
    "gpu_train_images_per_s",
    "gpu_train_mfu",
    "gpu_train_mfu_at_790",
    "gpu_infer_frames_per_s",
    "workers_to_feed_cpu",
    "workers_to_feed_gpu",
)


def write_outputs(results: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``results.json`` and ``summary.md`` into ``out_dir``; return their paths."""
    json_path, md_path = out_dir / "results.json", out_dir / "summary.md"
    write_json_atomic(json_path, results)
    write_text_atomic(md_path, render_summary(results))
    return json_path, md_path


def headline_table(results: dict[str, Any]) -> str:
    """The headline figures with their goals, as a Markdown table."""
    goals = {key: (text, test) for key, text, test in GOALS}
    lines = ["| figure | value | goal | met |", "|---|---|---|---|"]
    for key in HEADLINE:
        if key not in results or results[key] is None:
            continue
        value = results[key]
        goal, met = "", ""
        if key in goals:
            goal = goals[key][0]
            met = "yes" if goals[key][1](value) else "**no**"
        lines.append(f"| `{key}` | {_fmt(value)} | {goal} | {met} |")
    return "\n".join(lines)


def render_summary(r: dict[str, Any]) -> str:
    """The Markdown summary: machine, headline table, then how each figure was measured."""
    parts = [f"# Benchmark summary ({r['suite']} suite)", _machine(r["machine"]), "## Figures"]
    parts.append(headline_table(r))
    parts.append(f"Seconds per section: {r['seconds']}.")
    if r.get("errors"):
        parts.append(f"**Sections that failed** (see the log): {r['errors']}.")
    # How each figure was measured, for the sections that ran (each needs its first key).
    explained = (
        ("lightning_overhead", _overhead),
        ("frozen_encoder", _freezing),
        ("loader_images_per_s_per_worker", _throughput),
        ("despeckle_ms_per_frame", _despeckle),
        ("cpu_infer_frames_per_s", _inference),
        ("onnx_vs_torch_cpu_infer_ratio", _deploy),
    )
    parts += [section(r) for key, section in explained if key in r]
    parts.append(_gpu(r))  # says how to measure the GPU where none was
    return "\n\n".join(parts) + "\n"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _machine(m: dict[str, Any]) -> str:
    rows = [
        (
            "CPU",
            f"{m['cpu_model']} ({m['cpu_cores']} logical cores, {m['cpu_cores_usable']} usable)",
        ),
        (
            "load average (1 min) at start, end",
            f"{_fmt(m['load_average_1min'])}, {_fmt(m.get('load_average_1min_end'))}",
        ),
        ("torch", f"{m['torch']}, {m['torch_threads']} threads, CPU kernels {m['cpu_capability']}"),
        ("Python", f"{m['python']} on {m['platform']}"),
        (
            "GPU",
            f"{m['gpu_name']} x{m['gpu_count']} ({m['gpu_memory_gib']} GiB, CUDA {m['cuda']})"
            if m["cuda_available"]
            else "none",
        ),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return (
        "## Machine\n\n| | |\n|---|---|\n" + table + "\n\nAll timings are medians over "
        "repeated runs after warm-up; every comparison is a ratio of runs that took turns in "
        "one process, so load from other work on a shared machine hits both sides alike. "
        "Absolute times still move with that load (see the load average)."
    )


def _overhead(r: dict[str, Any]) -> str:
    s = r["overhead_setup"]
    return (
        "## Lightning overhead\n\n"
        f"The real `SegmentationModule` under a `lightning.Trainer` (CPU; progress bar, logger, "
        f"checkpointing, model summary and validation off) against a hand-written loop with "
        f"the same loss (soft Dice) and optimizer (Adam), on identical copies of "
        f"{s['model']} at {s['image_size']}x{s['image_size']}, batch {s['batch_size']}, from "
        f"the same in-memory DataLoader. After every Lightning step a callback runs one plain "
        f"step, so the two alternate step by step; the Lightning step is timed from the end of "
        f"the previous step's hooks to the end of its own (data fetch, hooks, `self.log`, "
        f"optimizer). Over {s['step_pairs']} pairs: Lightning {r['lightning_step_ms']:.2f} ms, "
        f"plain {r['plain_step_ms']:.2f} ms, median pair ratio - 1 = "
        f"{r['lightning_overhead']:+.4f} (median difference "
        f"{r['lightning_overhead_ms_per_step']:+.2f} ms per step). Lightning's cost per step "
        "is fixed (hooks, logging bookkeeping), so its share shrinks as steps grow: a "
        "full-size step takes seconds on this CPU and tens of milliseconds on a GPU."
    )


def _freezing(r: dict[str, Any]) -> str:
    v, x = r["frozen_encoder"], r["bottleneck_frozen"]
    s = v["setup"]
    x_params = x["frozen_params"] / x["total_params"]

    def line(name: str, d: dict[str, Any]) -> str:
        return (
            f"| {name} | {d['all_trainable_step_ms']:.0f} | {d['frozen_step_ms']:.0f} | "
            f"{d['ratio']:.3f} | {d['ratio_without_optimizer']:.3f} | {d['flop_ratio']:.3f} | "
            f"{d['all_trainable_optimizer_ms']:.0f} -> {d['frozen_optimizer_ms']:.0f} |"
        )

    share = x["forward_flop_share"]
    return (
        "## Freezing\n\n"
        f"V-UNet and {x['setup']['model']} at {s['image_size']}x{s['image_size']} (every "
        "conv's cost scales "
        "with the pixel count, so the FLOP shares and the ratio do not depend on the size), "
        f"batch {s['batch_size']}, {s['repeats']} paired steps after warm-up; the two variants "
        "take turns. The FLOP ratio is forward + backward as autograd really runs it "
        "(torch.utils.flop_counter on the frozen and unfrozen models).\n\n"
        "| variant | all trainable (ms) | frozen (ms) | step ratio | ratio without Adam | "
        "FLOP ratio | Adam update (ms) |\n|---|---|---|---|---|---|---|\n"
        + line("V-UNet, encoder frozen", v)
        + "\n"
        + line("X-UNet, bottleneck frozen", x)
        + "\n\n"
        "**V-UNet, encoder frozen.** The VGG16 trunk is the first module: with its weights "
        "frozen no tensor before the decoder needs a gradient, so autograd records nothing "
        "for it and skips both its weight-gradient and its input-gradient convolutions; the "
        f"trunk is {v['forward_flop_share']['encoder']:.0%} of the forward FLOPs, so the "
        "arithmetic alone predicts the FLOP ratio above, and Adam no longer updates its "
        f"{v['frozen_params'] / 1e6:.1f} M parameters."
        + (
            ""
            if v["ratio"] <= 0.70
            else " The goal of 0.70 lies below the FLOP ratio: where every convolution runs "
            "equally fast per FLOP (a GPU, roughly) and Adam's share fades (the paper's batch "
            "of 20 at 256x256), skipping the trunk's backward cannot reach it. Going lower "
            "means making the frozen trunk's forward cheaper: run it under `torch.no_grad` "
            "with constant, pre-packed weights (torch.compile with freezing, as for "
            "inference: about 2x on this CPU) or in bf16, or, without augmentation, compute "
            "its features once and reuse them every epoch."
        )
        + "\n\n"
        "**X-UNet, bottleneck frozen (why the paper saw little saving).** The bottleneck "
        f"holds {x_params:.0%} of the parameters but only {share['bottleneck']:.1%} of the "
        "forward FLOPs: "
        "it runs at 1/16 of the resolution, where activations are small, while most FLOPs "
        f"are in the high-resolution encoder ({share['encoder']:.0%}) and decoder "
        f"({share['decoder']:.0%}) levels. Gradients must still flow through it to the "
        "trainable encoder, so only its weight-gradient GEMMs are saved (one third of its "
        "share). What the measured ratio gains beyond the FLOP ratio is mostly Adam's update "
        f"of {x['frozen_params'] / 1e6:.1f} M fewer parameters, a cost per parameter, not per "
        "pixel: large at this small "
        "batch, small beside the arithmetic of the paper's batch of 20 at 256x256."
    )


def _deploy(r: dict[str, Any]) -> str:
    s = r["deploy_setup"]
    text = (
        "## Exported models on the CPU\n\n"
        f"{s['model']} at {s['image_size']}x{s['image_size']}, batch {s['batch_size']}, "
        f"{s['threads']} threads, {s['repeats']} rounds taking turns: torch (eval, "
        f"inference_mode, its faster layout here: {r['cpu_torch_layout']}) "
        f"{r['cpu_torch_infer_frames_per_s']:.3g} frames/s, onnxruntime (all graph "
        f"optimisations) {r['cpu_onnx_infer_frames_per_s']:.3g} frames/s: ratio "
        f"{r['onnx_vs_torch_cpu_infer_ratio']:.2f} (median of the rounds' ratios; both compute "
        "the same sigmoid probabilities, max difference "
        f"{r['onnx_vs_torch_max_probability_difference']:.1e})."
    )
    gflops, roof = r["cpu_infer_gflops"], r["cpu_sgemm_gflops"]
    text += (
        f" Counted in forward FLOPs, torch runs at {gflops['torch']:.0f} GFLOP/s and "
        f"onnxruntime at {gflops['onnx']:.0f} GFLOP/s, where this machine's float32 matrix "
        f"product (torch.matmul, 2048x2048) reaches {roof:.0f} GFLOP/s: "
        f"{gflops['torch'] / roof:.2f} and {gflops['onnx'] / roof:.2f} of it. A runtime "
        "that already convolves at the rate of a dense matrix product can only go faster "
        "by doing fewer operations (Winograd or FFT convolutions, which onnxruntime's CPU "
        "kernels do not have), so where both ratios to the matrix product are near 1 the "
        "speed ratio stays near 1 whatever the runtime."
    )
    shares = ", ".join(f"{op} {share:.1%}" for op, share in r["cpu_onnx_time_by_operator"].items())
    text += f" onnxruntime's kernel time by operator (one profiled call): {shares}."
    if "int8_dice_drop" in r:
        i = r["int8_setup"]
        text += (
            f" Dynamic int8 (weights of every convolution in int8): a small X-UNet trained "
            f"on the embedded set scores Dice {r['float32_dice']:.4f} in float32 and "
            f"{r['int8_dice']:.4f} in int8 on its {i['n_val']} validation samples: a drop of "
            f"{r['int8_dice_drop']:+.4f} (largest probability difference "
            f"{r['int8_max_probability_difference']:.3f})."
        )
    return text


def _throughput(r: dict[str, Any]) -> str:
    loader = r["loader_images_per_s_per_worker"]
    s, m = r["loader_setup"], r["model_setup"]
    text = (
        "## Input pipeline against the model\n\n"
        f"One loader worker (`num_workers=0`, in-process) serves "
        f"{loader:.1f} images/s: indexing in-memory preprocessed frames "
        f"(despeckled once and cached, not per epoch), flip copies, `{s['augment']}` "
        f"augmentation, tensors and collation of batches of {s['batch_size']} at "
        f"{s['image_size']}x{s['image_size']}. The model trains at "
        f"{r['model_images_per_s']:.3g} images/s on this CPU ({m['model']}, "
        f"{m['image_size']}x{m['image_size']}, batch {m['batch_size']}"
        f"{', channels_last as trainer=cpu runs it' if m.get('channels_last') else ''}). "
        "Workers needed = "
        "ceil(model images/s / worker images/s)"
    )
    if "workers_to_feed_gpu" in r:
        text += (
            f": {r['workers_to_feed_gpu']} for the GPU's "
            f"{r['gpu_train_images_per_s']:.0f} images/s (at most the free cores: beyond "
            "them, move augmentation onto the GPU)."
        )
    else:
        text += (
            f": {r.get('workers_to_feed_cpu', 1)} on this CPU. No GPU was measured here: "
            f"for a GPU training at G images/s, use ceil(G / {loader:.0f}) workers; the "
            "issue's ceiling of about 2,700 X-UNet images/s on a current GPU would need "
            f"{-(-2700 // max(int(loader), 1))} workers of this speed."
        )
    return text


def _despeckle(r: dict[str, Any]) -> str:
    return (
        "## Despeckling\n\n"
        f"Homomorphic wavelet despeckling of a speckled 960x128 frame: ours "
        f"{r['despeckle_ms_per_frame']:.1f} ms (adaptive shrinkage; classic BayesShrink "
        f"{r['despeckle_classic_ms_per_frame']:.1f} ms), scikit-image's `denoise_wavelet` "
        f"{r['skimage_ms_per_frame']:.1f} ms: ratio {r['despeckle_vs_skimage']:.3f} (below 1 "
        "= ours is faster). It runs once per frame when the cache is built, never per epoch."
    )


def _inference(r: dict[str, Any]) -> str:
    text = _infer_text(
        "CPU inference", r["cpu_infer_frames_per_s"], r["cpu_infer_mode"], r["cpu_infer_table"]
    )
    machine = r["machine"]
    return text + (
        f" The machine's load average was {_fmt(machine['load_average_1min'])} at the start "
        f"on {machine['cpu_cores']} cores: the wall-clock rates above are what was left by "
        "other work. From the best variant's CPU time instead, its "
        f"{machine['torch_threads']} threads would give "
        f"**{r['cpu_infer_frames_per_s_idle_estimate']:.2f} frames/s** on an otherwise idle "
        "machine (spinning threads count as busy, so this errs low)."
    )


def _infer_text(title: str, best: float, mode: dict[str, Any], table: list[dict]) -> str:
    rows = "\n".join(
        f"| {row['dtype']} | {'yes' if row['compiled'] else 'no'} | {row['batch_size']} | "
        + (f"{row['frames_per_s']:.2f} |" if "frames_per_s" in row else f"failed: {row['error']} |")
        for row in table
    )
    return (
        f"## {title}\n\n"
        f"{mode['model']} at {mode['image_size']}x{mode['image_size']}, eval mode, "
        "`torch.inference_mode`, channels_last. The modes are compared at one batch size "
        "(interleaved), then the fastest runs at every batch size. Compiled = `torch.compile` "
        "(Inductor) with weight freezing, which pre-packs the constant weights into the "
        "convolution library's blocked layout once and fuses conv + ReLU; eager mode "
        "re-lays out every weight on every call. bfloat16 = `torch.autocast` (the CPU's "
        "AVX-512 BF16 dot products, where it has them).\n\n"
        "| autocast dtype | compiled | batch | frames/s |\n|---|---|---|---|\n"
        + rows
        + f"\n\nBest: **{best:.2f} frames/s** ({mode['dtype']}, "
        f"{'compiled' if mode['compiled'] else 'eager'}, batch {mode['batch_size']})."
    )


def _gpu(r: dict[str, Any]) -> str:
    peaks = ", ".join(f"{name} {tflops:g}" for name, tflops in PEAK_BF16_TFLOPS)
    if "gpu_train_runs" not in r:
        return (
            "## GPU\n\nNo GPU here: the GPU keys are absent. `scripts/gpu_bench.sh` measures "
            "them on a GPU machine. Peak table (dense bf16 TFLOP/s): " + peaks + "."
        )
    rows = "\n".join(
        f"| {run['batch_size']} | {'yes' if run['compiled'] else 'no'} | "
        + (
            f"{run['images_per_s']:.0f} | {run['step_ms']:.1f} | {run['achieved_tflops']:.0f} | "
            f"{_fmt(run['mfu'])} | {run['mfu_at_790']:.3f} |"
            if "images_per_s" in run
            else f"{run['error']} | | | | |"
        )
        for run in r["gpu_train_runs"]
    )
    peak = r["gpu_peak_bf16_tflops"]
    text = (
        "## GPU training\n\n"
        "Full X-UNet, 256x256, bf16 autocast, channels_last, cuDNN autotuning, Adam; eager "
        "and `torch.compile`d steps take turns. FLOPs per training image (forward + "
        f"backward, counted by torch.utils.flop_counter): "
        f"{r['gpu_train_flops_per_image'] / 1e9:.1f} G. MFU = achieved FLOP/s / peak, with "
        f"peak = **{_fmt(peak)} TFLOP/s**, the data-sheet dense bf16 figure for "
        f"{r['gpu_name']} (table: {peaks}); `mfu_at_790` uses instead the "
        f"{SUSTAINED_BF16_TFLOPS:g} TFLOP/s that a large bf16 matrix product sustains on "
        "these GPUs (the issue's figure).\n\n"
        "| batch | compiled | images/s | step (ms) | TFLOP/s | MFU | MFU at 790 |\n"
        "|---|---|---|---|---|---|---|\n" + rows
    )
    infer = _infer_text(
        "GPU inference", r["gpu_infer_frames_per_s"], r["gpu_infer_mode"], r["gpu_infer_table"]
    )
    return text + "\n\n" + infer
