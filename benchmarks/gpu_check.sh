#!/usr/bin/env bash
# The GPU check, as one command from the repository root of a machine with a CUDA GPU:
#   bash benchmarks/gpu_check.sh                 (OUT=/some/dir to choose where results go)
#   WHEELS=dir bash benchmarks/gpu_check.sh      (first install dir/*.whl offline: pip --no-index)
#
# 1. the CUDA tests: the Triton PLIF kernels on the GPU (tests/model/test_triton_plif.py: bit-equal
#    spikes, compiled once per dtype whatever the shape), the device group's smoke test and
#    Bina-Rep codes reaching the network as Tonic's float32 values on the GPU ($OUT/tests.txt);
# 2. `python -m benchmarks --device cuda --only gpu --repeats 3` ($OUT/gpu.json, $OUT/gpu.txt;
#    under 3 minutes on an H200-class GPU; EXTRA="--triton-sweep" adds the block-size sweep);
#    its 6b includes the nda augmentation chain on the step's batch against the fp32 step
#    (issue #25: at most 5 %), repeated at the end as "gpu_check: nda ...";
# 3. the demo's four stage scripts (configs/demo.yaml) in a scratch folder, each timed
#    ($OUT/demo.txt, $OUT/demo-metrics.json): `dvc repro` without dvc, which a GPU machine
#    without internet may lack.
# A GPU machine without internet may also lack pydantic, kornia, kornia_rs or spikingjelly:
# bring them as wheels for its Python (WHEELS). Under 9 minutes in all.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && PY=.venv/bin/python
if [ -n "${WHEELS:-}" ]; then
  SITE=${SITE:-/tmp/gpu-check-site}
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
    "$WHEELS"/*.whl || { echo "gpu_check: installing $WHEELS/*.whl failed"; exit 2; }
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
"$PY" -c "import torch, triton; assert torch.cuda.is_available(), 'no CUDA'; print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'triton', triton.__version__, torch.cuda.get_device_name())" || exit 2
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null | tee "$OUT/nvidia-smi.txt"

start=$(date +%s)
timeout 150 "$PY" -m pytest -q -p no:cacheprovider tests/model/test_triton_plif.py tests/benchmarks/test_benchmarks.py tests/train/test_augment_events.py tests/train/test_train_representations.py -k "triton or cuda" 2>&1 | tee "$OUT/tests.txt"
tests=${PIPESTATUS[0]}
echo "gpu_check: tests $(( $(date +%s) - start )) s"

start=$(date +%s)
timeout 300 "$PY" -m benchmarks --device cuda --only gpu --repeats 3 ${EXTRA:-} --out "$OUT/gpu.json" 2>&1 | tee "$OUT/gpu.txt"
bench=${PIPESTATUS[0]}
echo "gpu_check: benchmark $(( $(date +%s) - start )) s"
grep -E "nda chain" "$OUT/gpu.txt" | sed 's/^ */gpu_check: nda: /'

demo=0
W=$(mktemp -d)
cp -r stages "$W/" && cp configs/demo.yaml "$W/params.yaml"
for stage in download frames train evaluate; do
  s=$(date +%s%N)
  (cd "$W" && timeout 300 "$PY" "stages/$stage.py") > "$OUT/demo-$stage.txt" 2>&1
  rc=$?
  ms=$(( ($(date +%s%N) - s) / 1000000 ))
  echo "demo stage $stage: exit $rc, $((ms / 1000)).$(printf %03d $((ms % 1000))) s; $(tail -n 1 "$OUT/demo-$stage.txt")" \
    | tee -a "$OUT/demo.txt"
  [ "$rc" -eq 0 ] || { demo=$rc; break; }
done
cp "$W/results/evaluation.json" "$OUT/demo-metrics.json" 2>/dev/null
rm -rf "$W"

echo "gpu_check: tests exit $tests, benchmark exit $bench, demo exit $demo (124: timed out); results in $OUT"
[ "$tests" -eq 0 ] && [ "$bench" -eq 0 ] && [ "$demo" -eq 0 ]
