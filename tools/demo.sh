#!/usr/bin/env bash
# The README's main command: installs, builds, and harmonizes the unseen-scanner volumes of the
# shared data (the Siemens MPRAGE and the clinical MS scans) towards the IXI-HH site with the
# shipped model, then writes a QC report with before/after mosaics and prints a short summary.
#   tools/demo.sh [OUT_DIR]      (default demo-out; IMUNITY_DATA overrides ../shared/data,
#                                 IMUNITY_MODEL the model, THREADS the CPU threads)
# Held-out IXI-HH subjects (never seen in training) go through the same run as a check: harmonized
# towards their own site they should change little.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${IMUNITY_DATA:-../shared/data}
out=${1:-demo-out}
model=${IMUNITY_MODEL:-model/weights/imunity-default-2mm.safetensors}
for need in "$data/unseen_scanners/siemens_trio_mprage.nii.gz" "$data/clinical_t1" "$data/ixi_hh_2mm/t1" "$model"; do
  [ -e "$need" ] || { echo "demo: $need not found (set IMUNITY_DATA to the shared data folder)" >&2; exit 1; }
done

tools/install-deps.sh
tools/build.sh -DIMUNITY_WERROR=OFF   # a user's build: a new compiler's warning must not stop it
bin=build/tools
threads=${THREADS:+--threads $THREADS}

# The inputs, one folder per site (links, nothing copied): imunity-eval reads the site from it.
in="$out/inputs"
rm -rf "$in"
mkdir -p "$in/siemens_trio" "$in/clinical_ms" "$in/ixi_hh"
ln -s "$(realpath "$data/unseen_scanners/siemens_trio_mprage.nii.gz")" "$in/siemens_trio/"
for f in "$data"/clinical_t1/*.nii.gz; do ln -s "$(realpath "$f")" "$in/clinical_ms/"; done
# The first 20 IXI subjects (sorted) are held out of the shipped model's training; take 8 of them.
mapfile -t ixi < <(ls "$data"/ixi_hh_2mm/t1/*.nii.gz | sort | head -n 8)
for f in "${ixi[@]}"; do ln -s "$(realpath "$f")" "$in/ixi_hh/"; done

echo
echo "== harmonizing $(find "$in" -name '*.nii.gz' | wc -l) volumes towards ixi_hh with $model"
start=$(date +%s.%N)
for site in siemens_trio clinical_ms ixi_hh; do
  # Existing outputs are kept (a rerun resumes); --overwrite would redo them.
  "$bin"/imunity-harmonize --model "$model" --in-dir "$in/$site" --out-dir "$out/harmonized/$site" \
    --target-site ixi_hh --brain-mask net --outside map $threads
done
end=$(date +%s.%N)

echo
echo "== QC report (imunity-eval): $out/report/report.html"
"$bin"/imunity-eval --before "$in" --after "$out/harmonized" --out "$out/report" --auto-mask --after-intensity as-is \
  --folds 2 --repeats 5 --no-tsne $threads > "$out/eval.log" 2>&1 || { cat "$out/eval.log" >&2; exit 1; }

echo
echo "== summary"
python3 - "$out" "$start" "$end" <<'EOF'
import json, pathlib, sys
out, start, end = pathlib.Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
rows = []
for side in sorted((out / "harmonized").glob("*/*.json")):
    t = json.loads(side.read_text())["timings_ms"]
    rows.append((side.parent.name, side.name.replace("_desc-harmonized_T1w.json", ""), t.get("network", 0) / 1e3, t["total"] / 1e3))
# total: read to written; volumes overlap in the pipeline, so the totals add up to more than the wall time.
print(f"{'site':<14} {'volume':<30} {'network s':>10} {'total s':>8}")
for site, name, net, total in rows:
    print(f"{site:<14} {name:<30} {net:>10.2f} {total:>8.2f}")
print(f"{len(rows)} volumes harmonized in {end - start:.1f} s wall (programs started three times, models loaded three times)")
EOF
python3 - "$out/report/report.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["site_classification"]
if c.get("valid"):
    b, a = c["before"], c["after"]
    print(f"site classification (radiomics + SVM): accuracy {b['accuracy']:.2f} before, {a['accuracy']:.2f} after (chance {b['chance_uniform']:.2f})")
else:
    print("site classification: not run (" + c.get("note", "") + ")")
EOF
echo "outputs:  $out/harmonized/<site>/<name>_desc-harmonized_T1w.nii.gz (+ .json sidecars)"
echo "report:   $out/report/report.html (figures in $out/report/figures/, numbers in report.json)"
