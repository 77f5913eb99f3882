"""Draws docs/figures/site-codes.png: one subject harmonized towards every site code of a model.

Usage (Debian's /usr/bin/python3 with nibabel and matplotlib):
  site_codes_figure.py OUT.png --input IN.nii.gz --row LABEL=DIR [--row LABEL=DIR ...] [--axial K]
Each DIR holds the outputs of one imunity-harmonize run per site, named <site>.nii.gz (made by the
loop below); each --row is one output stage. Row 0 is the input rescaled to its 99.5th percentile
in the brain; the others are the outputs on their own [0, 1] scale, with each tile's median brain
intensity. The shipped figure (docs/model-card.md) is IXI013-HH-1212_T1, a held-out test subject:
  for s in ixi_hh low_contrast high_contrast_15t thick_slices; do for o in detail decoder; do
    imunity-harmonize --model model/weights/imunity-default-2mm.safetensors --in IN --labels LABELS \\
      --target-site $s --output $o --out-dir D/$o/$s; cp D/$o/$s/*_desc-harmonized_T1w.nii.gz D/$o/$s.nii.gz
  done; done
  site_codes_figure.py docs/figures/site-codes.png --input IN --row detail=D/detail --row decoder=D/decoder --axial 76
"""
import argparse
import glob
import os

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402

SITES = ["ixi_hh", "low_contrast", "high_contrast_15t", "thick_slices"]


def load(path):
    return np.asarray(nib.as_closest_canonical(nib.load(path)).dataobj, dtype=np.float32)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--input", required=True)
    p.add_argument("--row", action="append", required=True, help="LABEL=DIR with <site>.nii.gz per site")
    p.add_argument("--axial", type=int, default=None, help="axial slice (RAS z index); default 0.55 of the height")
    a = p.parse_args()
    x = load(a.input)
    k = a.axial if a.axial is not None else int(0.55 * x.shape[2])
    rows = []
    for r in a.row:
        label, folder = r.split("=", 1)
        files = {s: os.path.join(folder, s + ".nii.gz") for s in SITES}
        missing = [f for f in files.values() if not os.path.exists(f)]
        if missing:
            raise SystemExit(f"site_codes_figure: missing {missing} (found {sorted(glob.glob(folder + '/*'))})")
        rows.append((label, {s: load(f) for s, f in files.items()}))
    for _, vols in rows:
        for v in vols.values():
            if v.shape != x.shape:
                raise SystemExit(f"site_codes_figure: an output's shape {v.shape} differs from the input's {x.shape}")
    top = np.percentile(x[x > 0], 99.5)
    fig, ax = plt.subplots(len(rows) + 1, len(SITES), figsize=(2.6 * len(SITES), 3.0 * (len(rows) + 1)))
    ax[0, 0].imshow(np.clip(x[:, :, k] / top, 0, 1).T, cmap="gray", origin="lower", vmin=0, vmax=1)
    ax[0, 0].set_title(f"input (rescaled), axial {k}", fontsize=8)
    for j in range(1, len(SITES)):
        ax[0, j].axis("off")
    ax[0, 0].axis("off")
    for i, (label, vols) in enumerate(rows, start=1):
        for j, s in enumerate(SITES):
            v = vols[s]
            brain = v > 0.01
            ax[i, j].imshow(np.clip(v[:, :, k], 0, 1).T, cmap="gray", origin="lower", vmin=0, vmax=1)
            ax[i, j].set_title(f"{label} -> {s}\nmedian brain {np.median(v[brain]):.2f}", fontsize=8)
            ax[i, j].axis("off")
    fig.tight_layout()
    fig.savefig(a.out, dpi=90)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
