#!/usr/bin/env bash
# The reproducibility run in one command (docs/reproducibility.md): the paper's Table 2 experiment on
# virtual travelling subjects (the 20 held-out IXI-HH subjects through seen and unseen virtual sites),
# ImUnity against the baselines, and site classification before and after.
#   tools/repro.sh [OUT_DIR]            (default repro-out) with the shipped model
#   RETRAIN=1 tools/repro.sh [OUT_DIR]  first retrains the model from scratch (tools/make-default-model.sh,
#                                       10 000 steps: about 50 minutes on a quiet 2-core CPU at 55 slices/s; STEPS, THREADS pass through)
# Needs tools/build.sh first. IMUNITY_DATA overrides ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${IMUNITY_DATA:-../shared/data}
out=${1:-repro-out}
model=model/weights/imunity-default-2mm.safetensors
manifest=()
if [ -n "${RETRAIN:-}" ]; then
  tools/make-default-model.sh build/default-model
fi
# The training manifest, when this machine made the model, lets imunity-repro prove that no test
# subject was trained on.
[ -f build/default-model/train.tsv ] && manifest=(--training-manifest build/default-model/train.tsv)
build/tools/imunity-repro --model "$model" --data "$data" --out "$out" "${manifest[@]}" ${THREADS:+--threads $THREADS}
