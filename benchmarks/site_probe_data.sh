#!/usr/bin/env bash
# Makes the two folders benchmarks/site_probe.py reads: model inputs of training volumes as acquired
# (12 per site, from the default model's manifest) and of 6 held-out IXI subjects (the first of the
# 20 the reproducibility run keeps out of training) through every site: the real IXI-HH scan and
# the three virtual sites of docs/sites/ made by imunity-simulate (seed 7, not the training's).
#   benchmarks/site_probe_data.sh WORK_DIR OUT_DIR
# WORK_DIR: a tools/make-default-model.sh work folder (PREPARE_ONLY=1 is enough): its train.tsv.
# OUT_DIR gets train/ and test/, files named <site>_<subject>.nii.gz (imunity-prep, 2 mm, WM-peak,
# brain-only, 128 x 128 planes, as the model trains). Environment: IMUNITY_DATA (default ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 WORK_DIR OUT_DIR" >&2; exit 2; }
work=$1 out=$2
data=${IMUNITY_DATA:-../shared/data}
bin=build/tools
manifest="$work/train.tsv"
[ -f "$manifest" ] || { echo "site_probe_data: $manifest not found (run PREPARE_ONLY=1 tools/make-default-model.sh $work)" >&2; exit 2; }
mkdir -p "$out/train" "$out/test"
prep() {  # in, mask-or-labels flag, its file, out
  [ -f "$4" ] || "$bin"/imunity-prep --in "$1" "$2" "$3" --voxel-size 2 --plane 128x128 --out "$4" --threads 2 > /dev/null
}
# Training volumes as acquired: the first 12 of each site in the manifest.
for site in ixi_hh low_contrast high_contrast_15t thick_slices; do
  awk -F'\t' -v s="$site" 'NR > 1 && $2 == s' "$manifest" | head -12 |
    while IFS=$'\t' read -r path _ mask labels; do
      name=$(basename "$path" .nii.gz)
      if [ -n "$labels" ]; then prep "$path" --labels "$labels" "$out/train/${site}_$name.nii.gz"
      else prep "$path" --mask "$mask" "$out/train/${site}_$name.nii.gz"; fi
    done
done
# Held-out subjects through every site.
mapfile -t held < <(ls "$data"/ixi_hh_2mm/t1/*.nii.gz | sort | head -6)
for f in "${held[@]}"; do
  s=$(basename "$f" .nii.gz)
  prep "$f" --labels "$data/ixi_hh_2mm/labels/${s}_DLMUSE.nii.gz" "$out/test/ixi_hh_$s.nii.gz"
done
for site in low_contrast high_contrast_15t thick_slices; do
  if [ ! -f "$out/sim/$site/.done" ]; then
    "$bin"/imunity-simulate --in "${held[@]}" --labels-dir "$data"/ixi_hh_2mm/labels \
      --sites docs/sites/$site.json --out "$out/sim" --seed 7 --overwrite > /dev/null
    touch "$out/sim/$site/.done"
  fi
  for f in "$out"/sim/$site/*_T1.nii.gz; do
    prep "$f" --mask "${f%.nii.gz}_mask.nii.gz" "$out/test/${site}_$(basename "$f" .nii.gz).nii.gz"
  done
done
echo "site_probe_data: $(ls "$out"/train/*.nii.gz | wc -l) training and $(ls "$out"/test/*.nii.gz | wc -l) held-out volumes in $out"
