"""Reference values and gradient of the per-sample gamma transform (engine/ops.h gamma_transform),
in float64 with PyTorch: y = x^g per sample, 0 (and a zero gradient) where x == 0."""
import torch

from fixture_io import inputs as inputs64
from fixture_io import save

torch.set_default_dtype(torch.float64)


def inputs(seed, *shape, lo=-1.0, hi=1.0):
    """Inputs rounded to float32 (what the fixture stores and our code reads), held in float64."""
    return inputs64(seed, *shape, lo=lo, hi=hi).float().double()


# ---- gamma transform: y = x^g per sample, 0 (and a zero gradient) where x == 0.
x = inputs(1, 3, 1, 5, 6, lo=0.0, hi=1.0)
x[0, 0, 0, :3] = 0.0
x.requires_grad_()
g = inputs(2, 3, lo=0.5, hi=1.5)
dy = inputs(3, 3, 1, 5, 6)
xg = x.clamp_min(1e-30) ** g.view(3, 1, 1, 1)
y = torch.where(x > 0, xg, torch.zeros_like(x))
(dx,) = torch.autograd.grad(y, x, dy)
out = {"x": x, "gamma": g, "dy": dy, "y": y, "dx": dx}
save("gamma", out, meta="torch_gamma.py")
