"""Reference output and gradient of nearest 2x upsampling from PyTorch (CPU, float64)."""
import torch.nn.functional as F

from fixture_io import inputs, save

x = inputs(1, 2, 3, 5, 7).requires_grad_()  # odd sizes: no accidental symmetry
dy = inputs(2, 2, 3, 10, 14)
y = F.interpolate(x, scale_factor=2, mode="nearest")
y.backward(dy)
save("upsample", {"x": x, "dy": dy, "y": y, "dx": x.grad}, meta="torch_upsample.py")
