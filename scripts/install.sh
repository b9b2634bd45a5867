#!/usr/bin/env bash
# Create .venv and install the project with its test tools.
#
# torch: an already-installed build is kept. Otherwise, on a machine without an NVIDIA GPU we
# take a CPU build: first a "+cpu" wheel your pip configuration offers locally (e.g. a
# find-links folder), then PyTorch's official CPU index. With a GPU, pip's default torch.
# Set TORCH_SPEC (e.g. "torch==2.5.1+cpu") to choose yourself.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
VPY=.venv/bin/python
if ! $VPY -c "import torch" >/dev/null 2>&1; then
  if [ -n "${TORCH_SPEC:-}" ]; then
    $VPY -m pip install "$TORCH_SPEC"
  elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    $VPY -m pip install "torch>=2.1"
  else
    # a CPU wheel offered locally by your pip configuration (find-links), if any
    tmp=$(mktemp -d)
    local_torch=""
    if $VPY -m pip download -q --no-index --no-deps -d "$tmp" "torch>=2.1" >/dev/null 2>&1; then
      local_torch=$(ls "$tmp" | sed -n 's/^torch-\([^-]*\)-.*\.whl$/\1/p' | head -n 1)
    fi
    rm -rf "$tmp"
    if [[ "$local_torch" == *+cpu* ]]; then
      $VPY -m pip install "torch==$local_torch"
    else
      $VPY -m pip install --retries 1 --timeout 30 "torch>=2.1" --index-url https://download.pytorch.org/whl/cpu \
        || $VPY -m pip install "torch>=2.1"
    fi
  fi
fi
$VPY -m pip install -q -e ".[test]"
echo "install: $($VPY -c 'import torch, numba, h5py, dvc.version as d; print("torch", torch.__version__, "| numba", numba.__version__, "| h5py", h5py.__version__, "| dvc", d.__version__)')"
