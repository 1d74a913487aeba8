# Shared set-up of the scripts that run on a GPU host without network access (sourced, not run).
# Before sourcing, set LOG_NAME (the log file's name inside $OUT). Afterwards PY, OUT, LOG and
# PYTHONPATH are set, the wheels in .gpu_wheels/ (from scripts/fetch_gpu_wheels.sh) are
# installed to /tmp/site, and the GPU and library versions open the log. run_timed runs a command under a time limit
# into the log and returns its status.
OUT=${OUT:-outputs/bench-gpu}
PY=${PYTHON:-python3}
WHEELS=.gpu_wheels
LOG="$OUT/$LOG_NAME"
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

# run_timed SECONDS NAME COMMAND...: COMMAND under a limit of SECONDS (SIGINT first, so
# Lightning stops cleanly), appended to the log; NAME labels the status line.
run_timed() {
  local seconds=$1 name=$2
  shift 2
  timeout --signal=INT --kill-after=20 "$seconds" "$@" 2>&1 | tee -a "$LOG"
  local status=${PIPESTATUS[0]}
  if [ "$status" -ne 0 ]; then
    echo "$name exited with $status (124: stopped at $seconds s)" | tee -a "$LOG"
  fi
  ls -la "$OUT"
  return "$status"
}
