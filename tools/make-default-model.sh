#!/usr/bin/env bash
# Rebuilds the shipped default model (model/weights/imunity-default-2mm.safetensors) from the shared
# data: the real IXI-HH site and three virtual sites made by imunity-simulate from IXI anatomy, all
# brain-only (the IXI label maps; the masks imunity-simulate writes), as the paper trains. The first
# 20 IXI subjects (sorted by name) are held out of training entirely: the reproducibility run
# (tools/repro.sh) evaluates on them. The clinical MS scans are not a training site: they stay
# unseen scanners for tools/demo.sh.
#   tools/make-default-model.sh [WORK_DIR]        (default build/default-model; needs tools/build.sh first)
# Seven stages (docs/training.md, "The shipped model"): in WORK_DIR/run, docs/default-model.json
# for its 10 000 steps; resumed to 14 000 with the anatomy encoder's augmentation (R14) and a
# confusion weight of 20; resumed to 18 000 with a confusion weight of 40. Then, in WORK_DIR/run4,
# 6 000 steps warm-started from that model (--init-from) with five site-head updates per step
# (train.site_steps), so that the anatomy code loses the site for a fresh probe too ("A fresh
# probe"). Then, in WORK_DIR/run5, 4 500 steps from stage 4's model with an invariance term on the
# code's pooled features (train.lambda_invariance, train.invariance_pooled: "An invariance term").
# Then, in WORK_DIR/run6, 4 500 more steps of that recipe from stage 5's model, half the anatomy
# inputs first given another site's intensity distribution (train.anatomy_site_match). Then, in
# WORK_DIR/run7, 4 500 steps of stage 6's recipe from its model with the anatomy encoder given each
# slice's within-slice ranks (model.anatomy_input "rank": "A contrast-free anatomy input").
# Each changed recipe restarts the choice of the best checkpoint: the best validation of the last
# stage is shipped.
# Environment: IMUNITY_DATA (default ../shared/data), STEPS (stage 1, default: the config's),
# THREADS, RESUME=1 (continue WORK_DIR/run, then WORK_DIR/run4 to run7, where they stopped; a finished stage
# trains no more), PREPARE_ONLY=1 (the virtual sites and the manifest, no training: for fine-tuning
# experiments and benchmarks/site_probe_data.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${IMUNITY_DATA:-../shared/data}
work=${1:-build/default-model}
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
# Brain-only training: IXI volumes with their label maps, virtual-site volumes with their masks.
manifest="$work/train.tsv"
{
  printf 'path\tsite\tmask\tlabels\n'
  for f in "${train[@]}"; do
    s=$(basename "$f" .nii.gz)
    printf '%s\tixi_hh\t\t%s\n' "$(realpath "$f")" "$(realpath "$data/ixi_hh_2mm/labels/${s}_DLMUSE.nii.gz")"
  done
  for site in low_contrast high_contrast_15t thick_slices; do
    for f in "$work"/sim/$site/*_T1.nii.gz; do
      printf '%s\t%s\t%s\t\n' "$(realpath "$f")" "$site" "$(realpath "${f%.nii.gz}_mask.nii.gz")"
    done
  done
} > "$manifest"
echo "make-default-model: $(($(wc -l < "$manifest") - 1)) volumes in $manifest"
if [ -n "${PREPARE_ONLY:-}" ]; then exit 0; fi
"$bin"/imunity-train --manifest "$manifest" --out "$work/run" --config docs/default-model.json \
  ${STEPS:+--steps $STEPS} ${THREADS:+--threads $THREADS} ${RESUME:+--resume}
"$bin"/imunity-train --manifest "$manifest" --out "$work/run" --resume --steps 14000 \
  --set train.anatomy_augment=true --set train.lambda_confusion=20 ${THREADS:+--threads $THREADS}
"$bin"/imunity-train --manifest "$manifest" --out "$work/run" --resume --steps 18000 \
  --set train.lambda_confusion=40 ${THREADS:+--threads $THREADS}
# A stage warm-started (--init-from) from an earlier stage's shipped state, in its own run folder;
# with RESUME=1 a begun one continues instead (with its own config).
warm_stage() {  # DIR INIT STEPS [--set ...]
  local dir=$1 init=$2 steps=$3
  shift 3
  if [ -n "${RESUME:-}" ] && [ -f "$dir/last.safetensors" ]; then
    "$bin"/imunity-train --manifest "$manifest" --out "$dir" --resume --steps "$steps" ${THREADS:+--threads $THREADS}
  else
    "$bin"/imunity-train --manifest "$manifest" --out "$dir" --config docs/default-model.json \
      --init-from "$init" --steps "$steps" "$@" ${THREADS:+--threads $THREADS}
  fi
}
stage45=(--set train.anatomy_augment=true --set train.site_on_acquired=true --set train.site_steps=5
         --set train.lambda_confusion=40)
# Stage 4: from stage 3's shipped state, five site-head updates per step.
warm_stage "$work/run4" "$work/run/model.safetensors" 6000 --set train.lr=0.0003 "${stage45[@]}"
# Stage 5: from stage 4's, the pooled invariance term (docs/training.md, "An invariance term").
stage56=(--set train.lr=0.0002 "${stage45[@]}" --set train.lambda_invariance=500 --set train.invariance_pooled=true)
warm_stage "$work/run5" "$work/run4/model.safetensors" 4500 "${stage56[@]}"
# Stage 6: from stage 5's, the same recipe with another site's contrast on half the anatomy inputs.
warm_stage "$work/run6" "$work/run5/model.safetensors" 4500 "${stage56[@]}" --set train.anatomy_site_match=0.5
# Stage 7: from stage 6's, the same recipe with the anatomy encoder reading within-slice ranks.
warm_stage "$work/run7" "$work/run6/model.safetensors" 4500 "${stage56[@]}" --set train.anatomy_site_match=0.5 \
  --set 'model.anatomy_input="rank"'
cp "$work/run7/model.safetensors" model/weights/imunity-default-2mm.safetensors
echo "make-default-model: model/weights/imunity-default-2mm.safetensors updated"
