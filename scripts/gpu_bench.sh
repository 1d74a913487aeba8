#!/usr/bin/env bash
# The GPU part of `make bench`, for an H100/H200 host without network access (x86-64, Python 3.12
# with torch). About 5 minutes on one H100; it stops itself after BENCH_TIMEOUT seconds.
#
#   1. On a machine with network access, once: bash scripts/fetch_gpu_wheels.sh
#      (the missing packages' wheels -> .gpu_wheels/)
#   2. Copy the repository with .gpu_wheels/ to the GPU host and run: bash scripts/gpu_bench.sh
#
# It writes results.json, summary.md and bench.log into $OUT if set (e.g. a batch system's
# output folder), else outputs/bench-gpu. The figures are written after every section, so a run
# stopped by the time limit still returns what it measured. The CPU sections that need no GPU
# (despeckle, loader and model throughput) run too: the loader workers needed to keep this GPU
# fed come from this machine's own loader speed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-outputs/bench-gpu}
PY=${PYTHON:-python3}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-450}
WHEELS=.gpu_wheels
LOG="$OUT/bench.log"
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

timeout --signal=INT --kill-after=20 "$BENCH_TIMEOUT" \
  "$PY" -m lus_unet.bench --only despeckle,throughput,gpu --out "$OUT" 2>&1 | tee -a "$LOG"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo "lus_unet.bench exited with $status (124: stopped at ${BENCH_TIMEOUT} s)" | tee -a "$LOG"
fi
ls -la "$OUT"
exit "$status"
