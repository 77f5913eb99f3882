#!/usr/bin/env bash
# One call on a lent GPU machine (the device tool): build with CUDA, run the whole test suite (the
# CPU-vs-CUDA parity tests included), every benchmark, and the PyTorch side-by-side; logs under
# $OUT (or ./gpu-out), a short table last. Usage, in the device tool's run (carry .device-deps):
#   bash benchmarks/gpu-session.sh
set -uo pipefail
out=${OUT:-gpu-out}
mkdir -p "$out"
if [ -d .device-deps ]; then
  bash .device-deps/unpack
  export CMAKE_PREFIX_PATH=/opt/deps/usr LD_LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
  export CPATH=/opt/deps/usr/include:/opt/deps/usr/include/nifti:${CPATH:-}
  export LIBRARY_PATH=/opt/deps/usr/lib/x86_64-linux-gnu:${LIBRARY_PATH:-}
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
cudnn=""
[ -f /usr/local/cuda/include/cudnn.h ] || cudnn=$(python3 -c "import nvidia.cudnn as c, os; print(os.path.dirname(c.__file__))" 2>/dev/null)
[ -n "$cudnn" ] && export LD_LIBRARY_PATH=$cudnn/lib:$LD_LIBRARY_PATH
echo "cuDNN: ${cudnn:-/usr/local/cuda}" | tee -a "$out/gpu.txt"
{
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DIMUNITY_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
    ${cudnn:+-DCUDNN_ROOT=$cudnn} -DCMAKE_PREFIX_PATH=/opt/deps/usr && cmake --build build-gpu -j 16
} > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
export IMUNITY_DATA=${IMUNITY_DATA:-$PWD/.device-data}
ctest --test-dir build-gpu -j 8 --output-on-failure --timeout 900 > "$out/ctest.log" 2>&1
build-gpu/tests/test_parity > "$out/parity.log" 2>&1; parity=$?
b=build-gpu/benchmarks
$b/imunity-bench-kernels > "$out/bench-kernels.log" 2>&1
$b/imunity-bench-ops --size all > "$out/bench-ops.log" 2>&1
$b/imunity-bench-train --device cuda --size 128x128 192x224 --batch 16 64 --steps 20 --json "$out/train-ours-fp32.json" > "$out/bench-train.log" 2>&1
$b/imunity-bench-train --device cuda --tf32 --size 128x128 192x224 --batch 16 64 --steps 20 --json "$out/train-ours-tf32.json" >> "$out/bench-train.log" 2>&1
$b/imunity-bench-train --dump-forward "$out/forward.safetensors" > /dev/null 2>&1
python3 benchmarks/pytorch_reference.py check "$out/forward.safetensors" > "$out/pytorch-check.log" 2>&1
for mode in "" "--compile" "--bf16" "--compile --bf16"; do
  python3 benchmarks/pytorch_reference.py bench --device cuda --tf32 $mode --size 128x128 192x224 --batch 16 64 --steps 20 \
    >> "$out/pytorch-bench.log" 2>&1
done
[ -x $b/imunity-bench-harmonize ] && $b/imunity-bench-harmonize --device cuda > "$out/bench-harmonize.log" 2>&1
echo "==== summary ($(head -2 "$out/gpu.txt" | tail -1))"
grep -E "tests passed|tests failed" "$out/ctest.log"
echo "parity exit code: $parity (0 = all CPU-vs-CUDA checks passed)"
tail -3 "$out/pytorch-check.log"
cat "$out/bench-train.log"
grep -E "^pytorch" "$out/pytorch-bench.log"
tail -15 "$out/bench-kernels.log"
