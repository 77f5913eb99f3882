#!/usr/bin/env bash
# ctest gpu_run_rehearsal: the GPU run (tools/gpu/run.sh) end to end on a machine without a GPU, so
# that it cannot rot before a GPU is lent: the carried folder made for real (tools/gpu/pack.sh:
# Debian packages by apt-get download, the data subset), unpacked, configured against them (CUDA
# when nvcc is here), a reduced target set built and run on the subset, the GPU targets checked to
# exist, every GPU step reported skipped with its reason, exit code 0; then a corrupt package must
# make the run fail (exit 1). Usage: rehearse.sh WORKDIR
set -euo pipefail
work=${1:?usage: rehearse.sh WORKDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)
fail() { echo "REHEARSAL FAILED: $*"; exit 1; }

IMUNITY_DATA=${IMUNITY_DATA:-$root/../shared/data} "$root/tools/gpu/pack.sh" "$work/carry" || fail "tools/gpu/pack.sh"
rm -rf "$work/out"
set +e
bash "$root/tools/gpu/run.sh" --rehearsal --carry "$work/carry" --build "$work/build" --out "$work/out" --budget 1100 \
  >"$work/run.log" 2>&1
rc=$?
set -e
cat "$work/run.log"
[ $rc -eq 0 ] || fail "tools/gpu/run.sh --rehearsal exited $rc"
table="$work/out/summary.txt"
[ -f "$table" ] || fail "no summary table $table"
for s in unpack configure deps-from-prefix build targets data data-read; do
  grep -qE "^$s +ok " "$table" || fail "step $s is not ok in $table"
done
for s in parity parity-sync memcheck racecheck bench-kernels bench-train torch-check torch-train torch-compile \
  bench-harmonize torch-harmonize; do
  grep -qE "^$s +skipped +0 +[a-z]" "$table" || fail "GPU step $s is not reported skipped with a reason in $table"
done
grep -q "figures: none measured" "$work/run.log" || fail "the figures table should say that nothing was measured"

# Any failure must show in the exit code: a corrupt package stops the run at once.
rm -rf "$work/bad" && mkdir -p "$work/bad/debs"
echo "not a deb" >"$work/bad/debs/broken.deb"
set +e
bash "$root/tools/gpu/run.sh" --rehearsal --carry "$work/bad" --build "$work/bad-build" --out "$work/bad-out" --budget 120 \
  >"$work/bad.log" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$work/bad.log"; fail "a corrupt package gave exit code $rc, not 1"; }
grep -qE "^unpack +FAILED" "$work/bad-out/summary.txt" || fail "the corrupt package is not reported as an unpack failure"
echo "REHEARSAL PASSED: tools/gpu/run.sh packs, unpacks, configures, builds and skips the GPU steps with reasons; a failure exits 1"
