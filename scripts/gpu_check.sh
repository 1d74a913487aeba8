#!/usr/bin/env bash
# Issue 14, item 4: a real training run on one H100/H200, measured, on a GPU host without
# network access (x86-64, Python with torch; wheels of missing packages as for gpu_bench.sh).
# About 5-8 minutes; it stops itself after GPU_CHECK_TIMEOUT seconds.
#
#   bash scripts/gpu_check.sh [train overrides ...]     e.g. performance.compile=true data.batch_size=64
#
# It trains the paper's X-UNet at 256x256 (trainer=gpu: bf16-mixed, channels_last, cuDNN
# autotuning) on 600 embedded frames for 3 epochs with real loading (cached frames, the
# configured loader workers), validation, checkpoints and TensorBoard logging, and writes into
# $OUT (default outputs/bench-gpu):
#   gpu_real.json            gpu_train_images_per_s, gpu_train_mfu (vs the data-sheet dense
#                            bf16 peak; goal >= 0.50), gpu_utilisation_mean (nvidia-smi every
#                            0.2 s; goal >= 90%), per-epoch figures; epoch 0 (compilation,
#                            autotuning) is left out of the means
#   profile_by_operator.txt  torch.profiler's table by operator over steps 5-15 of the last
#                            epoch: where the remaining time goes
#   gpu_check.log            everything printed
set -uo pipefail
cd "$(dirname "$0")/.."
GPU_CHECK_TIMEOUT=${GPU_CHECK_TIMEOUT:-540}
LOG_NAME=gpu_check.log
# shellcheck source=scripts/lib/gpu_host.sh
source scripts/lib/gpu_host.sh

run_timed "$GPU_CHECK_TIMEOUT" lus_unet.bench.gpu_real \
  "$PY" -m lus_unet.bench.gpu_real --out "$OUT" "paths.cache_dir=$OUT/cache" "$@"
