"""Reference Adam trajectory (torch.optim.Adam, beta1 = 0.5 as ImUnity) for fixed gradients."""
import torch

from fixture_io import inputs, save

p0 = inputs(3, 37).float()
grads = [inputs(10 + k, 37).float() for k in range(5)]
out = {"p0": p0}
for wd in (0.0, 0.01):
    p = torch.nn.Parameter(p0.clone())
    opt = torch.optim.Adam([p], lr=1e-2, betas=(0.5, 0.999), eps=1e-8, weight_decay=wd)
    for k, g in enumerate(grads):
        p.grad = g.clone()
        opt.step()
        out[f"wd{wd}_step{k + 1}"] = p.detach().clone()
for k, g in enumerate(grads):
    out[f"grad{k}"] = g
save("adam", out, meta="torch_adam.py")
