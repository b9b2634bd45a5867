#!/usr/bin/env bash
# The device group on a machine with a CUDA GPU, as one command from the repository root:
#   bash benchmarks/gpu_check.sh            (OUT=/some/dir to choose where results go)
# Installs nothing. Runs `python -m benchmarks --device cuda --only gpu --repeats 3` (results in
# $OUT/gpu.json, its table in $OUT/gpu.txt), then the CUDA tests of tests/test_benchmarks.py
# ($OUT/tests.txt). Under 8 minutes in all: 300 s for the benchmark, 150 s for the tests.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
PY=${PYTHON:-python}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA'; print('torch', torch.__version__, 'CUDA', torch.version.cuda, torch.cuda.get_device_name())" || exit 2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | tee "$OUT/nvidia-smi.txt"

timeout 300 "$PY" -m benchmarks --device cuda --only gpu --repeats 3 --out "$OUT/gpu.json" 2>&1 | tee "$OUT/gpu.txt"
bench=${PIPESTATUS[0]}

timeout 150 "$PY" -m pytest -q -x -p no:cacheprovider tests/test_benchmarks.py -k "cuda" 2>&1 | tee "$OUT/tests.txt"
tests=${PIPESTATUS[0]}

echo "gpu_check: benchmark exit $bench, tests exit $tests (124: timed out); results in $OUT"
[ "$bench" -eq 0 ] && [ "$tests" -eq 0 ]
