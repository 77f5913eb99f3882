"""Reference outputs and gradients of ReLU, LeakyReLU and sigmoid from PyTorch (CPU, float64)."""
import torch
import torch.nn.functional as F

from fixture_io import inputs, save

x = inputs(1, 2, 3, 4, 5, lo=-3, hi=3).requires_grad_()
dy = inputs(2, 2, 3, 4, 5)
out = {"x": x, "dy": dy}
for name, fn in [("relu", F.relu), ("leaky_relu_0.3", lambda t: F.leaky_relu(t, 0.3)), ("sigmoid", torch.sigmoid)]:
    y = fn(x)
    (dx,) = torch.autograd.grad(y, x, dy)
    out[name] = {"y": y, "dx": dx}
save("activation", out, meta="torch_activation.py")
