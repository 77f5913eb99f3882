"""Reference batch norm (F.batch_norm) from PyTorch (CPU, float64): outputs and gradients in training
and eval mode for [N, C, H, W] and [N, C], and the running statistics after one training call for
momentum 0.1 / 0.01 and eps 1e-5 / 1e-3."""
import torch
import torch.nn.functional as F

from fixture_io import inputs, save

out = {}
for tag, shape, seed in [("nchw", (2, 3, 4, 5), 21), ("nc", (6, 4), 31)]:
    C = shape[1]
    # Per-channel offsets and scales so that the statistics differ between channels.
    view = (1, C) + (1,) * (len(shape) - 2)
    x = (inputs(seed, *shape, lo=-2, hi=2) * inputs(seed + 1, C, lo=0.5, hi=3).reshape(view)
         + inputs(seed + 2, C, lo=-1, hi=1).reshape(view))
    gamma = inputs(seed + 3, C, lo=0.5, hi=1.5)
    beta = inputs(seed + 4, C, lo=-0.5, hi=0.5)
    rm0 = inputs(seed + 5, C, lo=-0.5, hi=0.5)
    rv0 = inputs(seed + 6, C, lo=0.5, hi=2.0)
    dy = inputs(seed + 7, *shape)
    case = {"x": x, "gamma": gamma, "beta": beta, "running_mean": rm0, "running_var": rv0, "dy": dy}
    for training in (True, False):
        for momentum in (0.1, 0.01):
            for eps in (1e-5, 1e-3):
                xv = x.clone().requires_grad_()
                g = gamma.clone().requires_grad_()
                b = beta.clone().requires_grad_()
                rm, rv = rm0.clone(), rv0.clone()
                y = F.batch_norm(xv, rm, rv, g, b, training=training, momentum=momentum, eps=eps)
                dx, dg, db = torch.autograd.grad(y, [xv, g, b], dy)
                key = f"{'train' if training else 'eval'}_m{momentum}_e{eps}"
                case[key] = {"y": y, "dx": dx, "dgamma": dg, "dbeta": db, "running_mean": rm, "running_var": rv}
    out[tag] = case
save("batchnorm", out, meta="torch_batchnorm.py")
