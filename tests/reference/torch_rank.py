"""Reference within-sample ranks (engine/ops.h rank_normalize) in float64 with PyTorch, by pairwise
comparison (not a sort): each sample's values >= threshold get their mid-rank among them over
(m - 1), mapped onto [lo, 1]; the rest 0. Inputs carry ties, background and one lone foreground value."""
import torch

from fixture_io import inputs
from fixture_io import save

torch.set_default_dtype(torch.float64)
THRESHOLD, LO = 0.001, 0.05


def reference(x):
    out = torch.zeros_like(x)
    flat = x.reshape(x.shape[0], -1)
    res = out.reshape(x.shape[0], -1)
    for s in range(flat.shape[0]):
        v = flat[s]
        fg = v >= THRESHOLD
        u = v[fg]
        m = u.numel()
        less = (u[None, :] < u[:, None]).sum(1).double()
        equal = (u[None, :] == u[:, None]).sum(1).double()
        r = (2 * less + equal - 1) / (2 * max(m - 1, 1))
        res[s, fg] = LO + (1 - LO) * r
    return out


# Values rounded to float32 (what the fixture stores and our code reads). Sample 0: ties in runs of
# 2 to 5 and background; sample 1: distinct values; sample 2: one foreground value only.
x = inputs(1, 3, 1, 9, 11, lo=0.0, hi=1.0).float().double()
x[0, 0, 0, :] = 0.0
x[0, 0, 1, :5] = x[0, 0, 1, 5]
x[0, 0, 2, 1:3] = x[0, 0, 2, 0]
x[0, 0, 3, 0] = 0.0005  # below the threshold: background
x[2] = 0.0
x[2, 0, 4, 4] = 0.3
save("rank", {"x": x, "y": reference(x), "threshold": THRESHOLD, "lo": LO}, meta="torch_rank.py")
