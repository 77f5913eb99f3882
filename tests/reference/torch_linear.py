"""Reference outputs and gradients of a dense layer (F.linear) from PyTorch (CPU, float64)."""
import torch
import torch.nn.functional as F

from fixture_io import inputs, save

x = inputs(11, 5, 7).requires_grad_()
w = inputs(12, 4, 7).requires_grad_()
b = inputs(13, 4).requires_grad_()
dy = inputs(14, 5, 4)
out = {"x": x, "w": w, "b": b, "dy": dy}
for name, bias in [("with_bias", b), ("no_bias", None)]:
    y = F.linear(x, w, bias)
    grads = torch.autograd.grad(y, [x, w] + ([bias] if bias is not None else []), dy)
    entry = {"y": y, "dx": grads[0], "dw": grads[1]}
    if bias is not None:
        entry["db"] = grads[2]
    out[name] = entry
save("linear", out, meta="torch_linear.py")
