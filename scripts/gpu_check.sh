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
OUT=${OUT:-outputs/bench-gpu}
PY=${PYTHON:-python3}
GPU_CHECK_TIMEOUT=${GPU_CHECK_TIMEOUT:-540}
WHEELS=.gpu_wheels
LOG="$OUT/gpu_check.log"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1

if compgen -G "$WHEELS/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "$WHEELS"/*.whl || { echo "installing $WHEELS failed"; exit 1; }
  export PYTHONPATH="$PWD:/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi

{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  "$PY" -c "import torch, lightning; print('torch', torch.__version__, 'lightning',
lightning.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
} 2>&1 | tee "$LOG"

timeout --signal=INT --kill-after=20 "$GPU_CHECK_TIMEOUT" \
  "$PY" -m lus_unet.bench.gpu_real --out "$OUT" "paths.cache_dir=$OUT/cache" "$@" 2>&1 | tee -a "$LOG"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo "lus_unet.bench.gpu_real exited with $status (124: stopped at ${GPU_CHECK_TIMEOUT} s)" | tee -a "$LOG"
fi
ls -la "$OUT"
exit "$status"
