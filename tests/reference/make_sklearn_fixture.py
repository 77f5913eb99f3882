"""Reference statistics for tests/eval -> fixtures/eval_sklearn.json.

  auc        sklearn.metrics.roc_auc_score (binary, with ties) and the one-vs-rest macro AUC
             (mean over classes of roc_auc_score(y == c, score[:, c]))
  pearson    scipy.stats.pearsonr (r, two-sided p), including a binary label and tiny p-values
  anova      sklearn.feature_selection.f_classif (F, p) for 3 classes
  firstorder pyradiomics' first-order formulas written with numpy/scipy (percentiles by linear
             interpolation, population moments, kurtosis not in excess, binCount discretization
             with numpy.histogram edges and numpy.digitize) on a deterministic sample
Run with Debian's /usr/bin/python3 (python3-sklearn, python3-scipy). The tests never run python.
"""
import json
import os

import numpy as np
import scipy
import scipy.stats
import sklearn
from sklearn.feature_selection import f_classif
from sklearn.metrics import roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))


def r32(a):
    """Values exactly representable in float32 and printed shortly (the C++ side reads doubles)."""
    return [float(np.format_float_positional(np.float32(v), unique=True)) for v in np.ravel(a)]


def firstorder(x, bins, voxel_volume):
    x = np.asarray(x, dtype=np.float64)
    edges = np.histogram(x, bins)[1]
    edges[-1] += 1
    levels = np.digitize(x, edges)
    p = np.bincount(levels, minlength=bins + 1)[1:].astype(np.float64) / x.size
    eps = np.spacing(1)
    p10, p90 = np.percentile(x, 10), np.percentile(x, 90)
    robust = x[(x >= p10) & (x <= p90)]
    m = x.mean()
    return {
        "Energy": float(np.sum(x ** 2)),
        "TotalEnergy": float(voxel_volume * np.sum(x ** 2)),
        "Entropy": float(-np.sum(p * np.log2(p + eps))),
        "Minimum": float(x.min()),
        "10Percentile": float(p10),
        "90Percentile": float(p90),
        "Maximum": float(x.max()),
        "Mean": float(m),
        "Median": float(np.median(x)),
        "InterquartileRange": float(np.percentile(x, 75) - np.percentile(x, 25)),
        "Range": float(x.max() - x.min()),
        "MeanAbsoluteDeviation": float(np.mean(np.abs(x - m))),
        "RobustMeanAbsoluteDeviation": float(np.mean(np.abs(robust - robust.mean()))),
        "RootMeanSquared": float(np.sqrt(np.mean(x ** 2))),
        "StandardDeviation": float(np.std(x)),
        "Skewness": float(scipy.stats.skew(x)),
        "Kurtosis": float(scipy.stats.kurtosis(x, fisher=False)),
        "Variance": float(np.var(x)),
        "Uniformity": float(np.sum(p ** 2)),
    }, [int(v) for v in levels]


def main():
    rng = np.random.default_rng(7)
    out = {"_generator": "tests/reference/make_sklearn_fixture.py with scikit-learn " + sklearn.__version__ +
                         ", scipy " + scipy.__version__ + ", numpy " + np.__version__}
    # AUC: binary with ties, and 3-class one-vs-rest macro.
    y = rng.integers(0, 2, 40)
    s = np.round(rng.normal(size=40) + 0.8 * y, 1)  # rounding makes ties
    y3 = rng.integers(0, 3, 45)
    s3 = rng.normal(size=(45, 3)) + 0.7 * np.eye(3)[y3]
    out["auc"] = {
        "binary": {"y": [int(v) for v in y], "score": [float(v) for v in s], "auc": float(roc_auc_score(y, s))},
        "ovr": {"y": [int(v) for v in y3], "score": [[float(v) for v in row] for row in s3],
                "auc": float(np.mean([roc_auc_score(y3 == c, s3[:, c]) for c in range(3)]))},
    }
    # Pearson: continuous, binary label, strong (tiny p), weak.
    cases = []
    for name, n, slope in (("moderate", 30, 0.5), ("binary", 24, None), ("strong", 50, 5.0), ("weak", 12, 0.05)):
        x = rng.normal(size=n)
        if slope is None:
            yy = (np.arange(n) % 2).astype(float)
            x = x + 1.2 * yy
        else:
            yy = slope * x + rng.normal(size=n)
        x, yy = np.array(r32(x)), np.array(r32(yy))
        r, p = scipy.stats.pearsonr(x, yy)
        cases.append({"name": name, "x": list(x), "y": list(yy), "r": float(r), "p": float(p)})
    out["pearson"] = cases
    # ANOVA F for 3 classes (sklearn's f_classif), 2 features.
    ya = np.repeat([0, 1, 2], [7, 9, 8])
    Xa = rng.normal(size=(24, 2)) + np.outer(ya, [0.9, 0.1])
    Xa = np.array(r32(Xa)).reshape(24, 2)
    F, p = f_classif(Xa, ya)
    out["anova"] = {"y": [int(v) for v in ya], "X": [list(row) for row in Xa], "F": [float(v) for v in F],
                    "p": [float(v) for v in p]}
    # First-order features of a skewed sample.
    x = np.array(r32(rng.gamma(2.0, 0.15, size=301)))
    feats, levels = firstorder(x, 32, 8.0)
    out["firstorder"] = {"x": list(x), "bins": 32, "voxel_volume": 8.0, "features": feats, "levels": levels}
    path = os.path.join(HERE, "fixtures", "eval_sklearn.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print("wrote", path)


if __name__ == "__main__":
    main()
