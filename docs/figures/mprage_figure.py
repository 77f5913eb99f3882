"""Draws docs/figures/mprage-harmonized.png: a 1 mm input beside its harmonized output.

Usage (Debian's /usr/bin/python3 with nibabel and matplotlib):
  mprage_figure.py INPUT.nii.gz HARMONIZED.nii.gz OUT.png [--axial K] [--coronal J] [--zoom x0,x1,y0,y1]
Both volumes are brought to canonical RAS; row 1 is the input rescaled to its 99.5th percentile,
row 2 the output on its own [0, 1] scale. The shipped figure (docs/harmonize.md) is the Siemens
MPRAGE with --axial 106 --coronal 120 --zoom 58,118,78,118: through the pons and cerebellum, a
coronal through the temporal lobes, a zoom on the pons.
"""
import argparse

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input")
    p.add_argument("harmonized")
    p.add_argument("out")
    p.add_argument("--axial", type=int, default=None, help="axial slice (RAS z index); default 0.33 of the height")
    p.add_argument("--coronal", type=int, default=None, help="coronal slice (RAS y index); default 0.5")
    p.add_argument("--zoom", default=None, help="x0,x1,y0,y1 of the zoom in the axial slice (voxels)")
    a = p.parse_args()
    x = np.asarray(nib.as_closest_canonical(nib.load(a.input)).dataobj, dtype=np.float32)
    h = np.asarray(nib.as_closest_canonical(nib.load(a.harmonized)).dataobj, dtype=np.float32)
    if x.shape != h.shape:
        raise SystemExit(f"{a.harmonized}: shape {h.shape} differs from the input's {x.shape}")
    k = a.axial if a.axial is not None else int(0.33 * x.shape[2])
    j = a.coronal if a.coronal is not None else x.shape[1] // 2
    if a.zoom:
        x0, x1, y0, y1 = (int(v) for v in a.zoom.split(","))
    else:
        cx, cy = x.shape[0] // 2, int(0.45 * x.shape[1])
        x0, x1, y0, y1 = cx - 30, cx + 30, cy - 20, cy + 20
    top = np.percentile(x[x > 0], 99.5)
    rows = [("input (rescaled)", np.clip(x / top, 0, 1)), ("harmonized (detail, 1 mm)", np.clip(h, 0, 1))]
    fig, ax = plt.subplots(2, 3, figsize=(10.5, 7))
    for r, (name, v) in enumerate(rows):
        ax[r, 0].imshow(v[:, :, k].T, cmap="gray", vmin=0, vmax=1, origin="lower")
        ax[r, 0].set_title(f"{name} axial {k}", fontsize=9)
        ax[r, 1].imshow(v[:, j, :].T, cmap="gray", vmin=0, vmax=1, origin="lower")
        ax[r, 1].set_title(f"coronal {j}", fontsize=9)
        ax[r, 2].imshow(v[x0:x1, y0:y1, k].T, cmap="gray", vmin=0, vmax=1, origin="lower", interpolation="nearest")
        ax[r, 2].set_title("zoom", fontsize=9)
        for c in range(3):
            ax[r, c].axis("off")
    fig.tight_layout()
    fig.savefig(a.out, dpi=80)


if __name__ == "__main__":
    main()
