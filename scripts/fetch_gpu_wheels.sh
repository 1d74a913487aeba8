#!/usr/bin/env bash
# On a machine with network access, download the wheels of the Python packages that a GPU host
# without network access lacks, into .gpu_wheels/ (git-ignored through .git/info/exclude), for
# scripts/gpu_bench.sh to install there. The host is assumed to run Python 3.12 on x86-64 with
# torch, lightning, torchmetrics, numpy, scipy, scikit-image, opencv-python-headless, h5py,
# tifffile and tensorboard installed; these are the rest of lus_unet's imports, at the versions
# of this project's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DEST=.gpu_wheels
grep -qxF "/$DEST/" .git/info/exclude 2>/dev/null || echo "/$DEST/" >> .git/info/exclude
mkdir -p "$DEST"

PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64
           manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64)
platform_args=()
for p in "${PLATFORMS[@]}"; do platform_args+=(--platform "$p"); done

# Binary or pure wheels for CPython 3.12 on manylinux x86-64.
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp "${platform_args[@]}" -d "$DEST" \
  PyWavelets==1.9.0 \
  albumentations==2.0.8 albucore==0.0.24 \
  pydantic==2.14.4 pydantic_core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \
  typing_extensions==4.16.0 \
  simsimd==6.5.16 stringzilla==5.3.2 \
  hydra-core==1.3.8 omegaconf==2.3.1
# antlr4-python3-runtime 4.9.3 (omegaconf's parser) is published as a source archive only:
# build its pure-Python wheel here.
"$PY" -m pip wheel --quiet --no-deps -w "$DEST" antlr4-python3-runtime==4.9.3
ls -la "$DEST"
du -sh "$DEST"
