"""Draws docs/figures/thickslice-restored.png: a thick-slice input harmonized with and without the
thick-slice restoration, beside the thin truth, in coronal and sagittal slices (where the slices'
thickness shows).

Usage (Debian's /usr/bin/python3 with nibabel and matplotlib):
  thickslice_figure.py TRUTH INPUT OFF AUTO OUT.png [--coronal J] [--sagittal I]
TRUTH the thin volume, INPUT its thick-slice version (imunity-simulate), OFF and AUTO the outputs of
imunity-harmonize --thick-slices off and auto. All are brought to canonical RAS; the truth and the
input are rescaled to their 99.5th percentile, the outputs shown on their own [0, 1] scale.
"""
import argparse

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402


def load(path):
    return np.asarray(nib.as_closest_canonical(nib.load(path)).dataobj, dtype=np.float32)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("truth", "input", "off", "auto", "out"):
        p.add_argument(name)
    p.add_argument("--coronal", type=int, default=None, help="coronal slice (RAS y index); default 0.45 of the depth")
    p.add_argument("--sagittal", type=int, default=None, help="sagittal slice (RAS x index); default 0.4 of the width")
    a = p.parse_args()
    vols = [load(a.truth), load(a.input), load(a.off), load(a.auto)]
    for path, v in zip((a.input, a.off, a.auto), vols[1:]):
        if v.shape != vols[0].shape:
            raise SystemExit(f"{path}: shape {v.shape} differs from the truth's {vols[0].shape}")
    for k in (0, 1):
        vols[k] = np.clip(vols[k] / np.percentile(vols[k][vols[k] > 0], 99.5), 0, 1)
    j = a.coronal if a.coronal is not None else int(0.45 * vols[0].shape[1])
    i = a.sagittal if a.sagittal is not None else int(0.4 * vols[0].shape[0])
    titles = ["thin truth", "input: 6 mm slices", "harmonized, --thick-slices off", "harmonized, auto (restored)"]
    fig, ax = plt.subplots(2, 4, figsize=(13, 7.4))
    for c, (t, v) in enumerate(zip(titles, vols)):
        ax[0, c].imshow(np.clip(v[:, j, :], 0, 1).T, cmap="gray", origin="lower", vmin=0, vmax=1)
        ax[1, c].imshow(np.clip(v[i, :, :], 0, 1).T, cmap="gray", origin="lower", vmin=0, vmax=1)
        ax[0, c].set_title(t, fontsize=10)
    ax[0, 0].set_ylabel(f"coronal y={j}")
    ax[1, 0].set_ylabel(f"sagittal x={i}")
    for x in ax.ravel():
        x.set_xticks([])
        x.set_yticks([])
    fig.tight_layout()
    fig.savefig(a.out, dpi=90)


if __name__ == "__main__":
    main()
