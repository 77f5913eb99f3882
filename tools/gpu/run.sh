#!/usr/bin/env bash
# The first GPU run in one command, on a fresh offline GPU machine: unpack the carried Debian
# packages, build what the run needs, then the CPU-vs-CUDA parity tests, compute-sanitizer
# (memcheck, racecheck) on the parity binary, and the benchmarks against PyTorch eager and
# torch.compile on the same GPU. One short table last, and in OUT summary.txt and
# gpu-run-logs.tar.gz (every log and JSON: the device tool brings back at most 8 files); exit 1
# when any step failed. Without a GPU (the rehearsal, tests/gpu/rehearse.sh) the GPU steps say why they skip.
#
#   tools/gpu/pack.sh                  # here first: .gpu-carry/ (debs/ and data/), git-ignored
#   bash tools/gpu/run.sh              # there: with the device tool, carry [".gpu-carry"]
#
# Options: --carry DIR (default .gpu-carry) --build DIR (default build-gpu) --out DIR (default
# $OUT, else gpu-out) --budget S (default 480: the whole run, build included) --rehearsal (build
# only a reduced set and check the other targets exist; for the CPU machine).
# Expected time on an H100: about 8 minutes, the budget (docs/gpu-run.md says how it was estimated;
# the --budget cut-off keeps it under 8).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
carry=.gpu-carry build=build-gpu out=${OUT:-gpu-out} budget=480 rehearsal=0
while [ $# -gt 0 ]; do
  case $1 in
    --carry) carry=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --rehearsal) rehearsal=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out" "$build"
out=$(cd "$out" && pwd) build=$(cd "$build" && pwd)
logs="$build/gpu-run-logs"   # every log and JSON; OUT gets the summary and a tarball of these
rm -rf "$logs" && mkdir -p "$logs"
[ -d "$carry" ] && carry=$(cd "$carry" && pwd)
export PATH="$PATH:/usr/local/cuda/bin"
start=$(date +%s)
deadline=$((start + budget))
rows=()
failures=0
gpu_reason=""   # empty while a GPU is usable

note() { rows+=("$1|$2|$3|$4"); [ "$2" = FAILED ] && failures=$((failures + 1)); return 0; }
left() { echo $((deadline - $(date +%s))); }
skip() { echo "== $1: skipped: $2"; note "$1" skipped 0 "$2"; }

# finish: the step table, then the figures table (read from the JSON the benchmarks wrote); exit 1
# when a step failed.
finish() {
  local total=$(($(date +%s) - start)) r n st t nt
  echo
  echo "==== tools/gpu/run.sh on ${gpu_name:-no GPU} ($(hostname)), $(date -u +%Y-%m-%dT%H:%MZ): ${total}s of the ${budget}s budget"
  printf '%-17s %-8s %5s  %s\n' step result s notes
  for r in "${rows[@]}"; do
    IFS='|' read -r n st t nt <<<"$r"
    printf '%-17s %-8s %5s  %s\n' "$n" "$st" "$t" "$nt"
  done | tee "$logs/summary.txt"
  python3 "$root/tools/gpu/figures.py" "$logs" | tee -a "$logs/summary.txt"
  cp "$logs/summary.txt" "$out/summary.txt"
  tar -czf "$out/gpu-run-logs.tar.gz" -C "$logs" --exclude='*.safetensors' --exclude=prep .
  if [ $failures -gt 0 ]; then
    echo "gpu-run: $failures step(s) FAILED (logs in $logs; summary and tarball in $out)"
    exit 1
  fi
  echo "gpu-run: no step failed (logs in $logs; summary and tarball in $out)"
  exit 0
}

# step NAME LIMIT CMD...: CMD (a program or an exported function) with its output to OUT/NAME.log,
# at most LIMIT seconds and never past the budget. Returns CMD's exit code (124 on timeout).
step() {
  local name=$1 limit=$2
  shift 2
  local l
  l=$(left)
  if [ "$l" -lt 15 ]; then
    skip "$name" "the ${budget}s budget is spent"
    return 125
  fi
  [ "$rehearsal" = 1 ] && limit=$((limit * 4))  # two shared cores, not sixteen
  [ "$limit" -le $((l - 5)) ] || limit=$((l - 5))
  echo "== $name (at most ${limit}s)"
  local t0 rc
  t0=$(date +%s)
  timeout --kill-after=5 "$limit" bash -c '"$@"' "$name" "$@" >"$logs/$name.log" 2>&1
  rc=$?
  local dt=$(($(date +%s) - t0))
  if [ $rc -eq 0 ]; then
    note "$name" ok "$dt" "${NOTE:-}"
  else
    local why="exit code $rc"
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && why="stopped at its ${limit}s limit"
    note "$name" FAILED "$dt" "$why; see $name.log"
    echo "-- $name FAILED ($why); the end of $logs/$name.log:"
    tail -n 25 "$logs/$name.log"
  fi
  return $rc
}

# amend TEXT: the notes of the last step become TEXT (added after the reason of a failure; a skip
# keeps its reason); unfail REASON: turns its failure into a skip (a tool the machine cannot run,
# not a fault of ours).
amend() {
  [ -n "$1" ] || return 0
  local last=${rows[-1]}
  case $last in
    *"|skipped|"*) ;;
    *"|FAILED|"*) rows[-1]="$last; $1" ;;
    *) rows[-1]="${last%|*}|$1" ;;
  esac
}
unfail() {
  local last=${rows[-1]} name=${rows[-1]%%|*}
  [[ $last == *"|FAILED|"* ]] && failures=$((failures - 1))
  rows[-1]="$name|skipped|0|$1"
}

# ---- the machine
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm), $(nproc) cores"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | sed 's/^/gpu: /'
  nvcc --version 2>&1 | tail -n 2 | sed 's/^/nvcc: /'
  cmake --version 2>&1 | head -n 1
  echo "ninja: $(ninja --version 2>&1 || echo none)"
  c++ --version 2>&1 | head -n 1
  echo "compute-sanitizer: $(command -v compute-sanitizer || echo none)"
  python3 -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.cuda.is_available())' 2>&1
} >"$logs/machine.log"
cat "$logs/machine.log"
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
[ -z "$gpu_name" ] && [ -e /dev/nvidia0 ] && gpu_name="a GPU at /dev/nvidia0 (nvidia-smi did not answer)"
if [ -z "$gpu_name" ]; then
  gpu_reason="no GPU on this machine (nvidia-smi lists none)"
fi

# ---- the carried Debian packages, into a private prefix inside the build folder
deps="$build/deps"
unpack() {
  # Unpacked already from the same files (a second call on a warm machine): keep it, so that the
  # headers keep their times and nothing is rebuilt.
  local stamp
  stamp=$(cd "$carry/debs" && ls -l --time-style=+%s ./*.deb | md5sum | cut -d' ' -f1)
  if [ -f "$deps/.unpacked" ] && [ "$(cat "$deps/.unpacked")" = "$stamp" ]; then
    echo "already unpacked into $deps"
    return 0
  fi
  rm -rf "$deps" && mkdir -p "$deps"
  local n=0 f
  for f in "$carry"/debs/*.deb; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$f" "$deps" || return 1
    else  # no dpkg: a .deb is an ar archive holding data.tar.*
      python3 - "$f" "$deps" <<'EOP' || return 1
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"!<arch>\n", "not a .deb (ar) archive"
pos = 8
while pos < len(data):
    name, size = data[pos:pos + 16].decode().strip().rstrip("/"), int(data[pos + 48:pos + 58])
    if name.startswith("data.tar"):
        tarfile.open(fileobj=io.BytesIO(data[pos + 60:pos + 60 + size])).extractall(sys.argv[2])
        break
    pos += 60 + size + size % 2
else:
    sys.exit("no data.tar in " + sys.argv[1])
EOP
    fi
    n=$((n + 1))
  done
  echo "unpacked $n packages into $deps"
  [ "$n" -gt 0 ] && echo "$stamp" >"$deps/.unpacked"
}
prefix_args=()
ours_libs=""
if [ -d "$carry/debs" ]; then
  export -f unpack
  export carry deps
  NOTE="$(ls "$carry"/debs/*.deb 2>/dev/null | wc -l) .deb files" step unpack 60 unpack || finish  # nothing builds without them
  # zlib static: zlib1g-dev's libz.so is an absolute link to Debian's /lib (tools/gpu/pack.sh).
  prefix_args=(-DCMAKE_PREFIX_PATH="$deps/usr" -DCMAKE_FIND_PACKAGE_PREFER_CONFIG=ON -DZLIB_USE_STATIC_LIBS=ON)
  ours_libs="$deps/usr/lib/x86_64-linux-gnu"
else
  skip unpack "no $carry/debs: using the system's packages"
fi

# ---- cuDNN: beside the CUDA toolkit, or in PyTorch's environment (pip's nvidia-cudnn)
cudnn_root=""
if [ ! -f /usr/local/cuda/include/cudnn.h ]; then
  site=$(python3 -c 'import nvidia, os; print(os.path.dirname(list(nvidia.__path__)[0]))' 2>/dev/null || true)
  h=$([ -n "$site" ] && find "$site/nvidia" -name cudnn.h -path '*include*' 2>/dev/null | head -n 1)
  [ -n "$h" ] && cudnn_root=$(dirname "$(dirname "$h")")
fi
echo "cuDNN: ${cudnn_root:-/usr/local/cuda}" | tee -a "$logs/machine.log"
if [ -n "$cudnn_root" ]; then
  ours_libs="$ours_libs${ours_libs:+:}$cudnn_root/lib"
fi

# ---- configure and build only what the run needs
gen="Unix Makefiles"
command -v ninja >/dev/null && gen=Ninja
cuda=OFF
command -v nvcc >/dev/null && cuda=ON
targets=(test_parity imunity-bench-kernels imunity-bench-train imunity-bench-harmonize imunity-harmonize)
[ "$cuda" = ON ] || targets=(test_parity imunity-bench-train imunity-bench-harmonize imunity-harmonize)
build_targets=("${targets[@]}")
[ "$rehearsal" = 1 ] && build_targets=(imunity-prep)   # links the carried libraries; the rest is only checked to exist
launcher=()
if [ "$rehearsal" = 1 ] && command -v ccache >/dev/null; then  # the rehearsal repeats in every test run
  export CCACHE_BASEDIR="$root"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake_ok=$(cmake --version 2>/dev/null | awk 'NR==1 { split($3, v, "."); print (v[1] > 3 || (v[1] == 3 && v[2] >= 25)) ? 1 : 0 }')
configured=0
if [ "${cmake_ok:-0}" != 1 ]; then
  note configure FAILED 0 "CMake 3.25 or newer is needed; found: $(cmake --version 2>/dev/null | head -n 1)"
else
  # CMAKE_POLICY_VERSION_MINIMUM: CMake 4 refuses old policy versions in third-party configs.
  NOTE="$gen, CUDA $cuda" step configure 150 cmake -S "$root" -B "$build" -G "$gen" -DCMAKE_BUILD_TYPE=Release \
    -DIMUNITY_CUDA="$cuda" -DCMAKE_CUDA_ARCHITECTURES=90 -DIMUNITY_NATIVE=OFF -DIMUNITY_WERROR=OFF \
    -DCMAKE_POLICY_VERSION_MINIMUM=3.5 ${cudnn_root:+-DCUDNN_ROOT="$cudnn_root"} "${prefix_args[@]}" "${launcher[@]}" && configured=1
fi
if [ $configured = 1 ] && [ ${#prefix_args[@]} -gt 0 ]; then
  # Every carried dependency must come from the prefix, not from a system copy of it.
  stray=$(grep -E '^(Eigen3_DIR|nlohmann_json_DIR|CLI11_DIR|Catch2_DIR|NIFTI_[A-Z0-9_]*|DEFLATE_[A-Z]*|SVM_[A-Z]*|PNG_LIBRARY_RELEASE|PNG_PNG_INCLUDE_DIR|ZLIB_INCLUDE_DIR|ZLIB_LIBRARY_RELEASE):' \
    "$build/CMakeCache.txt" | grep -v -e "$deps" -e '-ADVANCED' || true)
  grep -q '^ZLIB_LIBRARY_RELEASE:FILEPATH=.*/libz\.a$' "$build/CMakeCache.txt" || stray="$stray ZLIB_LIBRARY_RELEASE(not the static libz.a)"
  if [ -n "$stray" ]; then
    note deps-from-prefix FAILED 0 "found outside $deps: $(echo "$stray" | cut -d= -f1 | tr '\n' ' ')"
  else
    note deps-from-prefix ok 0 "every carried dependency found in the prefix"
  fi
fi
built=0
if [ $configured = 1 ]; then
  NOTE="${build_targets[*]}" step build 300 cmake --build "$build" -j "$(nproc)" --target "${build_targets[@]}" && built=1
  if [ "$rehearsal" = 1 ]; then
    # The GPU run's own targets are not built here (minutes on two cores), but must exist.
    missing=""
    for t in "${targets[@]}"; do
      cmake --build "$build" --target help 2>/dev/null | grep -qE "(^|[ :.])$t(:| |$)" || missing="$missing $t"
    done
    if [ -n "$missing" ]; then note targets FAILED 0 "not in the build system:$missing"; else note targets ok 0 "${targets[*]} exist"; fi
  fi
  [ "$(grep -c 'warning:' "$logs/build.log" 2>/dev/null)" = 0 ] || note build-warnings FAILED 0 "$(grep -c 'warning:' "$logs/build.log") compiler warnings in build.log"
fi

# ---- the data subset
data="$carry/data"
if [ -d "$data/ixi_hh_2mm/t1" ]; then
  mib=$(du -sm "$data" | cut -f1)
  if [ "$mib" -gt 40 ]; then note data FAILED 0 "$data is $mib MiB, over 40"; else note data ok 0 "$(ls "$data/ixi_hh_2mm/t1" | wc -l) IXI volumes, $mib MiB"; fi
  if [ "$rehearsal" = 1 ] && [ $built = 1 ]; then
    mkdir -p "$logs/prep"
    first=$(ls "$data"/ixi_hh_2mm/t1/*.nii.gz | head -n 1)
    NOTE="imunity-prep on $(basename "$first") with the carried libraries" step data-read 60 \
      env LD_LIBRARY_PATH="$ours_libs" "$build/tools/imunity-prep" --in "$first" --out "$logs/prep/subset-first.nii.gz" --plane 128x128
  fi
else
  note data FAILED 0 "no data subset in $data (tools/gpu/pack.sh makes it)"
  data=""
fi

# ---- on the GPU
b="$build/benchmarks"
parity="$build/tests/test_parity"
if [ -z "$gpu_reason" ] && [ $built = 0 ]; then gpu_reason="the build failed"; fi
if [ -z "$gpu_reason" ] && [ "$cuda" = OFF ]; then gpu_reason="no nvcc: CPU-only build"; fi
if [ -z "$gpu_reason" ] && [ "$rehearsal" = 1 ]; then gpu_reason="rehearsal: the GPU targets were not built"; fi
gpu_steps=(parity parity-sync memcheck racecheck bench-kernels bench-train torch-check torch-train torch-compile
           bench-harmonize torch-harmonize)
if [ -n "$gpu_reason" ]; then
  for s in "${gpu_steps[@]}"; do skip "$s" "$gpu_reason"; done
else
  # Our programs get the carried libraries and cuDNN on their library path; Python does not
  # (PyTorch brings its own).
  ours() { LD_LIBRARY_PATH="$ours_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" IMUNITY_DATA="$data" "$@"; }
  py() { PYTHONUNBUFFERED=1 python3 "$root/benchmarks/$1" "${@:2}"; }
  # The training step, ours in fp32 and TF32; PyTorch eager in both (torch.compile is its own step).
  train_ours() {
    ours "$b/imunity-bench-train" --device cuda --size 128x128 --batch 16 64 --steps 20 --json "$logs/train-ours-fp32.json" &&
      ours "$b/imunity-bench-train" --device cuda --tf32 --size 128x128 --batch 16 64 --steps 20 --json "$logs/train-ours-tf32.json"
  }
  train_torch() {
    py pytorch_reference.py bench --device cuda --size 128x128 --batch 16 64 --steps 20 --json "$logs/train-torch-eager-fp32.json" &&
      py pytorch_reference.py bench --device cuda --tf32 --size 128x128 --batch 16 64 --steps 20 --json "$logs/train-torch-eager-tf32.json"
  }
  torch_check() { ours "$b/imunity-bench-train" --dump-forward "$logs/forward.safetensors" && py pytorch_reference.py check "$logs/forward.safetensors"; }
  # Harmonization, the network alone in PyTorch (anatomy encoder + decoder) on the slices that
  # imunity-bench-harmonize's network stage runs (its first IXI volume: 114 of 120 axial slices hold
  # brain, the MNI volume 153 of 182; the others are copied); torch.compile on the first only (its
  # compilation takes most of a minute per shape).
  harmonize_torch() {
    py pytorch_harmonize_reference.py --device cuda --runs 5 --case 128x128:114 224x192:153 >"$logs/harmonize-torch-eager.jsonl" &&
      py pytorch_harmonize_reference.py --device cuda --compile --runs 5 --case 128x128:114 >"$logs/harmonize-torch-compile.jsonl"
  }
  export -f ours py train_ours train_torch torch_check harmonize_torch
  export ours_libs data root logs b

  step parity 150 ours "$parity" --durations yes
  rc=$?
  amend "$(grep -E 'All tests passed|test cases:|^parity on' "$logs/parity.log" | tr '\n' ' ')"
  if [ $rc = 77 ]; then  # nvidia-smi sees a GPU, yet the engine's probe (driver, cuBLAS, cuDNN) failed
    gpu_reason="the engine's GPU probe failed (parity.log)"
    for s in "${gpu_steps[@]:1}"; do skip "$s" "$gpu_reason"; done
  else
    step parity-sync 90 env IMUNITY_CUDA_SYNC=1 bash -c 'ours "$@"' _ "$parity" "parity: the whole model forward and backward"
    grep -q "IMUNITY_CUDA_SYNC=1: synchronizing" "$logs/parity-sync.log" &&
      amend "the whole model under IMUNITY_CUDA_SYNC=1 (a sync and check after every launch)"

    # compute-sanitizer on our own kernels: cuDNN's (conv, its algorithm search) and the long
    # model tests are left out; each tool runs the tests that exercise what it checks.
    if command -v compute-sanitizer >/dev/null; then
      # Catch's -f reads one name a line, and a comma there separates names unless escaped.
      ours "$parity" --list-test-names-only 2>/dev/null | grep '^parity:' | sed 's/,/\\,/g' >"$logs/parity-tests.txt"
      grep -v -E 'conv|cuDNN|weight used twice|bucket|whole model|Trainer|MLP|cudaMalloc' "$logs/parity-tests.txt" >"$logs/memcheck-tests.txt"
      grep -E 'batch_norm|sum and mean|reduction|SSIM|where|masked_select|broadcast|linear|cross-entropy|KL|BCE|masked L1|Adam over' \
        "$logs/parity-tests.txt" >"$logs/racecheck-tests.txt"
      for tool in memcheck racecheck; do
        step "$tool" 100 ours compute-sanitizer --tool "$tool" --error-exitcode 3 --print-limit 20 "$parity" -f "$logs/$tool-tests.txt"
        if grep -qiE 'device not supported|not supported on this' "$logs/$tool.log"; then
          unfail "compute-sanitizer cannot run on this machine: $(grep -m1 -iE 'not supported' "$logs/$tool.log")"
        else
          amend "$(wc -l <"$logs/$tool-tests.txt") test cases; $(grep -m1 -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$logs/$tool.log")"
        fi
      done
    else
      skip memcheck "compute-sanitizer is not on this machine"
      skip racecheck "compute-sanitizer is not on this machine"
    fi

    step bench-kernels 90 ours "$b/imunity-bench-kernels" --iters 100
    amend "$(grep -m1 -E 'every memory-bound|under 80%' "$logs/bench-kernels.log")"
    step bench-train 120 train_ours
    step torch-check 60 torch_check
    amend "$(grep -m1 'forward agreement' "$logs/torch-check.log")"
    step torch-train 120 train_torch
    step torch-compile 180 py pytorch_reference.py bench --device cuda --tf32 --compile --size 128x128 --batch 64 --steps 20 \
      --json "$logs/train-torch-compile-tf32.json"
    if [ -n "$data" ]; then  # ours end to end: read, mask, prepare, the network on the GPU, write
      step bench-harmonize 120 ours "$b/imunity-bench-harmonize" --device cuda --threads "$(nproc)" --data "$data" --runs 3 --batch-volumes 20 \
        --json "$logs/harmonize-ours.json"
    else
      skip bench-harmonize "no data subset"
    fi
    step torch-harmonize 150 harmonize_torch
  fi
fi

finish
