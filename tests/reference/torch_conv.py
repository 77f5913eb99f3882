"""Reference outputs and gradients of conv2d and conv_transpose2d from PyTorch (CPU, float64).

padding = k // 2 everywhere; the transposed conv uses output_padding = stride - 1, so its output is
exactly H * stride (the engine's convention, engine/ops.h).
"""
import torch
import torch.nn.functional as F

from fixture_io import inputs, save

# name: (transposed, x shape, c_out, k, stride, bias)
CASES = {
    "conv_k3_s1_bias": (False, (2, 3, 5, 4), 4, 3, 1, True),
    "conv_k3_s2_bias": (False, (2, 3, 5, 6), 4, 3, 2, True),
    "conv_k3_s2_nobias": (False, (2, 2, 6, 6), 3, 3, 2, False),
    "conv_k1_s2_bias": (False, (2, 3, 5, 4), 4, 1, 2, True),
    "conv_k5_s2_bias": (False, (2, 2, 7, 6), 2, 5, 2, True),
    "conv_k3_s1_wide": (False, (1, 8, 4, 3), 2, 3, 1, True),
    "conv_k5_s1_wide": (False, (1, 6, 3, 4), 1, 5, 1, False),
    "convT_k3_s1_nobias": (True, (2, 3, 5, 4), 2, 3, 1, False),
    "convT_k3_s1_wide": (True, (1, 2, 4, 3), 6, 3, 1, True),
    "convT_k3_s2_bias": (True, (2, 3, 3, 4), 2, 3, 2, True),
    "convT_k1_s2_bias": (True, (2, 3, 4, 3), 2, 1, 2, True),
    "convT_k5_s2_bias": (True, (2, 2, 3, 2), 3, 5, 2, True),
}

out = {}
seed = 10
for name, (transposed, xs, c_out, k, stride, has_bias) in CASES.items():
    c_in = xs[1]
    x = inputs(seed, *xs).requires_grad_()
    wshape = (c_in, c_out, k, k) if transposed else (c_out, c_in, k, k)
    w = inputs(seed + 1, *wshape).requires_grad_()
    b = inputs(seed + 2, c_out).requires_grad_() if has_bias else None
    seed += 3
    if transposed:
        y = F.conv_transpose2d(x, w, b, stride=stride, padding=k // 2, output_padding=stride - 1)
    else:
        y = F.conv2d(x, w, b, stride=stride, padding=k // 2)
    dy = inputs(seed, *y.shape)
    seed += 1
    grads = torch.autograd.grad(y, [x, w] + ([b] if has_bias else []), dy)
    entry = {"stride": stride, "x": x, "w": w, "dy": dy, "y": y, "dx": grads[0], "dw": grads[1]}
    if has_bias:
        entry["b"] = b
        entry["db"] = grads[2]
    out[name] = entry
save("conv", out, meta="torch_conv.py")
