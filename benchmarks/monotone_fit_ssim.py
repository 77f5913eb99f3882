"""How much of the input's anatomy a harmonized volume keeps: brain SSIM between the output and the
input after a monotone intensity fit (docs/harmonize.md, "What it gives").

Usage (Debian's /usr/bin/python3 with nibabel and scikit-image):
  monotone_fit_ssim.py INPUT.nii.gz OUTPUT.nii.gz MASK.nii.gz [--bins 256]
The fit: the means of the output in BINS equal-count bins of the input's brain intensities, made
non-decreasing (pool-adjacent-violators), applied to the input by linear interpolation between bin
centres. An output that only moved tissue intensities scores near 1; blur, invented or lost
structure lower it. SSIM 2-D on axial slices of the canonical RAS grid with >= 1% brain, 11 x 11
Gaussian (sigma 1.5), range 1 (both on [0, 1]: the output as written, the fitted input clipped),
mean over the brain voxels. Printed: the score and the number of slices.
"""
import argparse

import nibabel as nib
import numpy as np
from skimage.metrics import structural_similarity


def pava(y, w):
    """Non-decreasing least-squares fit of y with weights w (pool adjacent violators)."""
    vals, wts, lens = [], [], []
    for v, q in zip(y, w):
        vals.append(v); wts.append(q); lens.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            q2 = wts[-2] + wts[-1]
            v2 = (vals[-2] * wts[-2] + vals[-1] * wts[-1]) / q2
            n2 = lens[-2] + lens[-1]
            del vals[-2:], wts[-2:], lens[-2:]
            vals.append(v2); wts.append(q2); lens.append(n2)
    return np.repeat(vals, lens)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("mask")
    p.add_argument("--bins", type=int, default=256)
    a = p.parse_args()
    load = lambda f: np.asarray(nib.as_closest_canonical(nib.load(f)).dataobj, dtype=np.float64)
    x, y, m = load(a.input), load(a.output), load(a.mask) > 0.5
    for f, v in ((a.output, y), (a.mask, m)):
        if v.shape != x.shape:
            raise SystemExit(f"{f}: shape {v.shape} differs from the input's {x.shape}")
    xb, yb = x[m], y[m]
    order = np.argsort(xb, kind="stable")
    groups = np.array_split(order, a.bins)
    cx = np.array([xb[g].mean() for g in groups])
    cy = pava(np.array([yb[g].mean() for g in groups]), np.array([len(g) for g in groups], float))
    fitted = np.clip(np.interp(x, cx, cy), 0, 1)
    scores, weights = [], []
    for k in range(x.shape[2]):
        mk = m[:, :, k]
        if mk.mean() < 0.01:
            continue
        _, s = structural_similarity(y[:, :, k], fitted[:, :, k], data_range=1.0, gaussian_weights=True,
                                     sigma=1.5, use_sample_covariance=False, full=True)
        scores.append(s[mk].sum()); weights.append(mk.sum())
    print(f"brain SSIM after a monotone fit: {sum(scores) / sum(weights):.4f} over {len(scores)} axial slices")


if __name__ == "__main__":
    main()
