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
BENCH_TIMEOUT=${BENCH_TIMEOUT:-450}
LOG_NAME=bench.log
# shellcheck source=scripts/lib/gpu_host.sh
source scripts/lib/gpu_host.sh

run_timed "$BENCH_TIMEOUT" lus_unet.bench \
  "$PY" -m lus_unet.bench --only despeckle,throughput,gpu --out "$OUT"
