"""Reference forward pass of a small ImUnity (the architecture of benchmarks/pytorch_reference.py,
written independently of model/imunity.cpp) with weights drawn here: our model loads these weights
by layer name and must reproduce every output."""
import os
import sys

import torch

from fixture_io import save

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "benchmarks"))
from pytorch_reference import ImUnity  # noqa: E402

torch.manual_seed(0)
# The last one has a 1/8 anatomy code (model.latent_stride 8); it comes last so that the random
# weights of the others stay what they were.
# model_sitepooled (model.site_head_input "pooled") is added after them for the same reason, and
# model_rank (model.anatomy_input "rank") after it.
for fixture, pooled, upsample, latent_stride, site_input, anatomy_input in (
        ("model", False, "transposed", 16, "flat", "image"),
        ("model_pooled", True, "transposed", 16, "flat", "image"),
        ("model_upsample", True, "nearest", 16, "flat", "image"),
        ("model_latent8", True, "nearest", 8, "flat", "image"),
        ("model_sitepooled", True, "nearest", 8, "pooled", "image"),
        ("model_rank", True, "nearest", 8, "pooled", "rank")):
    cfg = {"image_h": 32, "image_w": 48, "encoder_widths": [3, 4, 5, 6, 8], "anatomy_channels": 4,
           "contrast_channels": 3, "contrast_dense_width": 6, "contrast_pooled": pooled, "decoder_upsample": upsample,
           "latent_stride": latent_stride,
           "decoder_widths": [6, 5, 4, 3, 2], "disc_width": 4, "disc_leaky_alpha": 0.3, "bn_momentum": 0.01,
           "bn_eps": 1e-3, "site_hidden": 5, "n_sites": 3, "background_threshold": 0.001}
    if site_input != "flat":
        cfg["site_head_input"] = site_input
    if anatomy_input != "image":
        cfg["anatomy_input"] = anatomy_input
    m = ImUnity(cfg).double()
    weights = {}
    with torch.no_grad():
        for key, mod in m.layers.items():
            name = key.replace("__", ".")
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
                for suffix, t in (("gamma", mod.weight), ("beta", mod.bias), ("running_mean", mod.running_mean),
                                  ("running_var", mod.running_var)):
                    weights[f"{name}.{suffix}"] = t.clone()
            else:
                fan_in = mod.weight[0].numel() if not isinstance(mod, torch.nn.ConvTranspose2d) else mod.weight.shape[0] * 9
                mod.weight.normal_(0, (2.0 / fan_in) ** 0.5)
                mod.bias.uniform_(-0.1, 0.1)
                weights[f"{name}.weight"] = mod.weight.clone()
                weights[f"{name}.bias"] = mod.bias.clone()
    x = torch.rand(2, 1, 32, 48, dtype=torch.float64)
    x[:, :, :4, :] = 0  # background rows: the output must copy them
    if anatomy_input == "rank":
        x = x.float().double()  # ranked as our float32 reads it (a tie there is a tie here)
        x[0, 0, 4:10, :6] = x[0, 0, 4, 0]  # and ties
    c = torch.rand(2, 1, 32, 48, dtype=torch.float64)
    amu, alv, _ = m.encode_anatomy(x)
    cmu, clv, _ = m.encode_contrast(c)
    out = m.decode(amu, cmu, x)
    m.eval()
    with torch.no_grad():
        d_eval = m.discriminate(out)
    m.train()
    # The gradients reaching the discriminator's convolutions before their training-mode batch norms:
    # those convs' bias gradients are exactly zero, and the test bounds our rounding noise by their size.
    pre_bn = {}
    hooks = [m.L(f"discriminator.conv{i}").register_forward_hook(
        lambda mod, inp, o, i=i: pre_bn.setdefault(i, o).retain_grad()) for i in range(3)]
    d_train = m.discriminate(out)  # batch statistics; updates the running statistics
    for h in hooks:
        h.remove()
    site = m.site_logits(amu)
    # Gradients of every parameter for fixed random weightings of the three outputs (the
    # discriminator and the site head also pass gradients back into the generator).
    g = torch.Generator().manual_seed(1)
    w_out = torch.rand(out.shape, generator=g, dtype=torch.float64) - 0.5
    w_disc = torch.rand(d_train.shape, generator=g, dtype=torch.float64) - 0.5
    w_site = torch.rand(site.shape, generator=g, dtype=torch.float64) - 0.5
    loss = (out * w_out).sum() + (d_train * w_disc).sum() + (site * w_site).sum()
    loss.backward()
    grads = {}
    for key, mod in m.layers.items():
        name = key.replace("__", ".")
        if isinstance(mod, torch.nn.BatchNorm2d):
            grads[name + ".gamma"], grads[name + ".beta"] = mod.weight.grad, mod.bias.grad
        else:
            grads[name + ".weight"], grads[name + ".bias"] = mod.weight.grad, mod.bias.grad
    # Per output channel: how many terms the bias gradient sums (n * h * w) and their L2 norm.
    pre_bn_grads = {f"discriminator.conv{i}.bias": {"terms": t.grad[:, 0].numel(),
                                                    "norms": t.grad.pow(2).sum(dim=(0, 2, 3)).sqrt()}
                    for i, t in pre_bn.items()}
    outputs = {"anatomy_mu": amu, "anatomy_logvar": alv, "contrast_mu": cmu, "contrast_logvar": clv,
               "output": out, "disc_eval": d_eval, "disc_train": d_train, "site_logits": site}
    for i in range(3):
        outputs[f"bn{i}_running_mean_after"] = m.L(f"discriminator.bn{i}").running_mean
        outputs[f"bn{i}_running_var_after"] = m.L(f"discriminator.bn{i}").running_var
    save(fixture, {"config": cfg, "weights": weights, "input": x, "contrast_input": c,
                   "outputs": outputs, "grads": grads, "pre_bn_grads": pre_bn_grads,
                   "seeds": {"out": w_out, "disc": w_disc, "site": w_site}},
         meta="torch_model.py")
