#!/usr/bin/env bash
# Copies the part of the shared data that the GPU run's benchmarks read, in the same layout, so
# that IMUNITY_DATA can point at it: the first N 2 mm IXI volumes (sorted by name; the batch
# figure of imunity-bench-harmonize) and the 1 mm MNI template (its 1 mm figure). At most 40 MiB.
#   tools/gpu/data-subset.sh SHARED_DATA DEST [N=24]
set -euo pipefail
src=${1:?usage: data-subset.sh SHARED_DATA DEST [N]}
dest=${2:?usage: data-subset.sh SHARED_DATA DEST [N]}
n=${3:-24}
limit_mib=40
t1="$src/ixi_hh_2mm/t1"
mni="$src/templates/mni.nii.gz"
[ -d "$t1" ] || { echo "data-subset: no folder $t1 (the shared data)" >&2; exit 1; }
[ -f "$mni" ] || { echo "data-subset: no file $mni (the shared data)" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest/ixi_hh_2mm/t1" "$dest/templates"
mapfile -t vols < <(find "$t1" -maxdepth 1 -name '*.nii.gz' | sort | head -n "$n")
[ "${#vols[@]}" -eq "$n" ] || { echo "data-subset: only ${#vols[@]} volumes in $t1, $n wanted" >&2; exit 1; }
cp "${vols[@]}" "$dest/ixi_hh_2mm/t1/"
cp "$mni" "$dest/templates/"
cat > "$dest/README.md" <<EOT
A subset of the project's shared data made by tools/gpu/data-subset.sh for the GPU run (same layout):
$n IXI-HH 2 mm T1 volumes (CC BY-SA 3.0, brain-development.org) and the MNI152 1 mm template (FSL).
EOT
mib=$(du -sm "$dest" | cut -f1)
[ "$mib" -le "$limit_mib" ] || { echo "data-subset: $dest is $mib MiB, over $limit_mib MiB" >&2; exit 1; }
echo "data-subset: $n IXI volumes and the MNI template in $dest ($mib MiB)"
