"""SSIM reference values from scikit-image for tests/eval/test_ssim.cpp -> fixtures/ssim_skimage.json.

skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
data_range=1) on small deterministic arrays (2-D and 3-D) and on a real IXI slice/block and its gamma
0.8 transform. Inputs are rounded to float32 first (our volumes are float32) and stored in the fixture,
so the C++ test needs neither python nor the data folder. Per case:
  ssim            skimage's mean (map cropped by (win-1)/2 = 5 voxels at every border)
  ssim_masked     mean of skimage's full map (full=True) over the mask voxels
  ssim_valid_masked  mean of the same map over mask voxels whose 11-voxel window lies inside the
                  image (TensorFlow's 'valid' convention; equal to tf.image.ssim's map there)
Arrays are stored x fastest: a numpy array of shape (nz, ny, nx) (or (ny, nx)) flattened in C order.
Run with Debian's /usr/bin/python3 (python3-skimage 0.19, python3-nibabel).
"""
import json
import os

import numpy as np
import skimage
from skimage.metrics import structural_similarity

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "shared", "data")
R = 5


def short(v):
    """The shortest decimal that reads back as the same float32 (keeps the fixture small)."""
    return float(np.format_float_positional(np.float32(v), unique=True))


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def case(name, a, b, mask):
    a, b = f32(a), f32(b)
    mask = np.asarray(mask, dtype=bool)
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    m, S = structural_similarity(a, b, full=True, **kw)
    inside = np.zeros_like(mask)
    inside[tuple(slice(R, n - R) for n in a.shape)] = True
    return {
        "name": name,
        "ndim": a.ndim,
        "dim": list(reversed(a.shape)) + ([1] if a.ndim == 2 else []),  # nx, ny, nz
        "a": [short(v) for v in a.ravel()],
        "b": [short(v) for v in b.ravel()],
        "mask": [int(v) for v in mask.ravel()],
        "ssim": float(m),
        "ssim_masked": float(S[mask].mean()),
        "ssim_valid_masked": float(S[mask & inside].mean()),
        "map_corner": float(S.ravel()[0]),
        "map_center": float(S[tuple(n // 2 for n in a.shape)]),
    }


def ellipse(shape, frac=0.3):
    """An off-centre ellipsoid: it reaches the border on one side and leaves interior voxels out."""
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    r = sum(((g - 0.35 * (n - 1)) / (frac * n)) ** 2 for g, n in zip(grids, shape))
    return r <= 1.0


def glcm_cases(rng):
    """GLCM properties of small 2-D integer images from skimage.feature.graycomatrix/graycoprops
    (distance 1, angles 0, 45, 90, 135 degrees, symmetric, normed), averaged over the 4 angles. Our
    3-D GLCM of a one-slice volume uses exactly these 4 in-plane directions. Levels are stored 1..L
    (ours); skimage gets them minus 1 (the properties used here do not depend on the offset)."""
    from skimage.feature import graycomatrix, graycoprops
    out = []
    for name, shape, levels in (("glcm_random_5", (7, 9), 5), ("glcm_random_8", (12, 10), 8)):
        img = rng.integers(1, levels + 1, size=shape)
        g = graycomatrix((img - 1).astype(np.uint8), distances=[1], angles=[0, np.pi / 4, np.pi / 2, 3 * np.pi / 4],
                         levels=levels, symmetric=True, normed=True)
        props = {p: float(graycoprops(g, p)[0].mean()) for p in
                 ("contrast", "dissimilarity", "homogeneity", "ASM", "correlation")}
        out.append({"name": name, "dim": [shape[1], shape[0], 1], "levels": levels,
                    "image": [int(v) for v in img.ravel()], "props": props})
    return out


def main():
    rng = np.random.default_rng(20240611)
    cases = []
    # 2-D: random image and a noisy copy
    a = rng.random((18, 23))
    b = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)
    cases.append(case("2d_random_noise", a, b, ellipse(a.shape)))
    # 2-D: smooth pattern and a contrast change (gamma 1.4) plus an offset
    y, x = np.mgrid[0:24, 0:30]
    a = 0.5 + 0.4 * np.sin(x / 3.0) * np.cos(y / 4.0)
    b = np.clip(a ** 1.4 + 0.03, 0, 1)
    cases.append(case("2d_smooth_gamma", a, b, ellipse(a.shape, 0.4)))
    # 2-D: constant regions (zero variance) next to an edge
    a = np.zeros((16, 16))
    a[:, 8:] = 0.8
    b = a.copy()
    b[4:12, 4:12] += 0.1
    cases.append(case("2d_edges", a, b, ellipse(a.shape, 0.3)))
    # 3-D: random volume and a blurred, scaled copy
    a = rng.random((12, 14, 13))
    b = np.clip(0.9 * a + 0.05 * rng.standard_normal(a.shape) + 0.05, 0, 1)
    cases.append(case("3d_random", a, b, ellipse(a.shape)))
    # Real data: an IXI axial slice and a 3-D block, scaled by the 99.5th percentile into [0, 1],
    # against their gamma 0.8 transform.
    try:
        import nibabel as nib
        img = nib.load(os.path.join(DATA, "ixi_hh_2mm", "t1", "IXI013-HH-1212_T1.nii.gz"))
        vol = np.asarray(img.get_fdata(), dtype=np.float64)  # (i, j, k) voxel axes as in the file
        vol = np.clip(vol / np.percentile(vol, 99.5), 0, 1)
        sl = vol[28:92, 28:92, 45].T  # (ny, nx): x = file axis i
        cases.append(case("ixi_slice_gamma08", sl, sl ** 0.8, sl > 0.15))
        blk = np.transpose(vol[44:68, 44:68, 32:46], (2, 1, 0))  # (nz, ny, nx)
        cases.append(case("ixi_block_gamma08", blk, blk ** 0.8, blk > 0.15))
    except FileNotFoundError as e:
        print("warning: real-data cases skipped:", e)
    out = {
        "_generator": "tests/reference/make_skimage_fixture.py with scikit-image " + skimage.__version__ +
                      ", numpy " + np.__version__,
        "cases": cases,
        "glcm": glcm_cases(rng),
    }
    path = os.path.join(HERE, "fixtures", "ssim_skimage.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print("wrote", path, "with", len(cases), "cases")


if __name__ == "__main__":
    main()
