#!/usr/bin/env bash
# Rebuilds the shipped default model (model/weights/imunity-default-2mm.safetensors) from the shared
# data: the real IXI-HH site, the clinical MS volumes as a second real site, and three virtual sites
# made by imunity-simulate from IXI anatomy. The first 20 IXI subjects (sorted by name) are held out
# of training entirely: the reproducibility run (tools/repro.sh) evaluates on them.
#   tools/make-default-model.sh [WORK_DIR]        (default build/default-model; needs tools/build.sh first)
# Environment: IMUNITY_DATA (default ../shared/data), STEPS (default 6000), THREADS.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${IMUNITY_DATA:-../shared/data}
work=${1:-build/default-model}
steps=${STEPS:-6000}
bin=build/tools
mkdir -p "$work"
mapfile -t ixi < <(ls "$data"/ixi_hh_2mm/t1/*.nii.gz | sort)
train=("${ixi[@]:20}")
n=${#train[@]}
third=$(( (n + 2) / 3 ))
# Each virtual site sees a different third of the training subjects.
i=0
for site in low_contrast high_contrast_15t thick_slices; do
  part=("${train[@]:$((i * third)):$third}")
  if [ ! -f "$work/sim/$site/.done" ]; then
    "$bin"/imunity-simulate --in "${part[@]}" --labels-dir "$data"/ixi_hh_2mm/labels \
      --sites docs/sites/$site.json --out "$work/sim" --seed 2026 --overwrite
    touch "$work/sim/$site/.done"
  fi
  i=$((i + 1))
done
# Whole-head training: no mask column, so every volume gets the automatic head mask, as the unseen
# whole-head scanners will at inference.
manifest="$work/train.tsv"
{
  printf 'path\tsite\n'
  for f in "${train[@]}"; do printf '%s\tixi_hh\n' "$(realpath "$f")"; done
  for f in "$data"/clinical_t1/*.nii.gz; do printf '%s\tclinical_ms\n' "$(realpath "$f")"; done
  for site in low_contrast high_contrast_15t thick_slices; do
    for f in "$work"/sim/$site/*_T1.nii.gz; do printf '%s\t%s\n' "$(realpath "$f")" "$site"; done
  done
} > "$manifest"
echo "make-default-model: $(($(wc -l < "$manifest") - 1)) volumes in $manifest"
"$bin"/imunity-train --manifest "$manifest" --out "$work/run" --config docs/default-model.json \
  --steps "$steps" ${THREADS:+--threads $THREADS} ${RESUME:+--resume}
cp "$work/run/model.safetensors" model/weights/imunity-default-2mm.safetensors
echo "make-default-model: model/weights/imunity-default-2mm.safetensors updated"
