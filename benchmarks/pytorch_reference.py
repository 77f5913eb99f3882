#!/usr/bin/env python3
"""The ImUnity architecture in PyTorch, for side-by-side checks and timings against imunity.

  pytorch_reference.py check STATE.safetensors     forward agreement with a dump of ours
  pytorch_reference.py bench [--device cpu|cuda] [--threads N] [--batch 16 64] [--size 128x128 192x224]
                             [--compile] [--bf16] [--tf32] [--steps 20] [--json OUT]

`check` loads a file written by `imunity-bench-train --dump-forward` (our weights by layer name,
a fixed input batch and our outputs), runs the same forward pass here and prints the relative
errors, so that the timings compare the same function. `bench` times the full training step (the
discriminator, site-head and generator updates of model/trainer.cpp) and inference.
Runs with Debian's PyTorch 1.13 on the CPU and with PyTorch 2.x on a GPU (torch.compile there).
"""
import argparse
import json
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- safetensors without the package
def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "F64": np.float64, "F16": np.float16}
    out = {}
    for name, e in header.items():
        b, en = e["data_offsets"]
        arr = np.frombuffer(data[b:en], dtype=dtypes[e["dtype"]]).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float32).copy())
    return out, meta


# ---------------------------------------------------------------- the architecture (model/imunity.cpp)
class ImUnity(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        ew, dw = cfg["encoder_widths"], cfg["decoder_widths"]
        ls = cfg.get("latent_stride", 16)  # model/config.h: encoder_stride(), decoder_stride()
        strides = [2, 2, 2, 2 if ls == 16 else 1, 1]
        self.dec_strides = [1, 2 if ls == 16 else 1, 2, 2, 2]
        self.layers = nn.ModuleDict()

        def conv(name, cin, cout, k, s):
            self.layers[name.replace(".", "__")] = nn.Conv2d(cin, cout, k, s, padding=k // 2)

        def tconv(name, cin, cout, k, s):
            self.layers[name.replace(".", "__")] = nn.ConvTranspose2d(cin, cout, k, s, padding=k // 2, output_padding=s - 1)

        def dense(name, i, o):
            self.layers[name.replace(".", "__")] = nn.Linear(i, o)

        cin = 1
        for i in range(5):
            conv(f"anatomy_encoder.conv{i}", cin, ew[i], 3, strides[i])
            conv(f"contrast_encoder.conv{i}", cin, ew[i], 3, 2 if i < 4 else 1)
            cin = ew[i]
        din = ew[-1]
        for i in range(3):
            conv(f"contrast_encoder.dense{i}", din, cfg["contrast_dense_width"], 1, 1)
            din = cfg["contrast_dense_width"]
        cin = cfg["anatomy_channels"] + cfg["contrast_channels"]
        self.upsample = cfg.get("decoder_upsample", "transposed") == "nearest"
        for i, (w, s) in enumerate(zip(dw, self.dec_strides)):
            if self.upsample:  # resize-convolution: nearest 2x upsampling, then a 3x3 conv
                conv(f"decoder.conv{i}", cin, w, 3, 1)
            else:
                tconv(f"decoder.tconv{i}", cin, w, 3, s)
            cin = w
        (conv if self.upsample else tconv)("decoder.out", cin, 1, 3, 1)
        latent = cfg["anatomy_channels"] * (cfg["image_h"] // ls) * (cfg["image_w"] // ls)
        cin = 1
        for i in range(3):
            conv(f"discriminator.conv{i}", cin, cfg["disc_width"], 3, 2)
            self.layers[f"discriminator__bn{i}"] = nn.BatchNorm2d(cfg["disc_width"], eps=cfg["bn_eps"],
                                                                 momentum=cfg["bn_momentum"])
            cin = cfg["disc_width"]
        conv("discriminator.out", cin, 1, 3, 1)
        self.site_pooled = cfg.get("site_head_input", "flat") == "pooled"
        dense("site_head.fc1", 2 * cfg["anatomy_channels"] if self.site_pooled else latent, cfg["site_hidden"])
        dense("site_head.fc2", cfg["site_hidden"], cfg["n_sites"])

    def L(self, name):
        return self.layers[name.replace(".", "__")]

    def groups(self):
        g = {"generator": [], "discriminator": [], "site_head": []}
        for name, p in self.named_parameters():
            key = name.split(".")[1].split("__")[0]
            g["generator" if key in ("anatomy_encoder", "contrast_encoder", "decoder", "bio") else key].append(p)
        return g

    def load_ours(self, tensors):
        """Copies our weights (named as in model/imunity.cpp) into this module."""
        n = 0
        for key, mod in self.layers.items():
            name = key.replace("__", ".")
            if isinstance(mod, nn.BatchNorm2d):
                mod.weight.data.copy_(tensors[name + ".gamma"])
                mod.bias.data.copy_(tensors[name + ".beta"])
                mod.running_mean.copy_(tensors[name + ".running_mean"])
                mod.running_var.copy_(tensors[name + ".running_var"])
            else:
                mod.weight.data.copy_(tensors[name + ".weight"])
                mod.bias.data.copy_(tensors[name + ".bias"])
            n += 1
        return n

    @staticmethod
    def split_code(h, c, eps):
        mu, logvar = h[:, :c], h[:, c:]
        z = mu if eps is None else mu + eps * torch.exp(0.5 * logvar)
        return mu, logvar, z

    @staticmethod
    def rank_normalize(x, threshold, lo=0.05):
        """model.anatomy_input "rank" (engine/ops.h rank_normalize): each sample's values >= threshold
        by their mid-rank among them over (m - 1), mapped onto [lo, 1]; the rest 0."""
        out = torch.zeros_like(x)
        for i in range(x.shape[0]):
            v = x[i].reshape(-1)
            fg = v >= threshold
            u = v[fg]
            s, _ = torch.sort(u)
            below = torch.searchsorted(s, u, right=False)   # #{w < u}
            upto = torch.searchsorted(s, u, right=True)     # #{w <= u}
            r = (below + upto - 1).to(x.dtype) / (2 * max(u.numel() - 1, 1))
            out[i].view(-1)[fg] = lo + (1 - lo) * r
        return out

    def encode_anatomy(self, x, eps=None):
        h = x
        if self.cfg.get("anatomy_input", "image") == "rank":
            h = self.rank_normalize(x, self.cfg["background_threshold"])
        for i in range(5):
            h = self.L(f"anatomy_encoder.conv{i}")(h)
            if i < 4:
                h = F.relu(h)
        return self.split_code(h, self.cfg["anatomy_channels"], eps)

    def encode_contrast(self, x, eps=None):
        h = x
        for i in range(5):
            h = F.relu(self.L(f"contrast_encoder.conv{i}")(h))
        if self.cfg["contrast_pooled"]:
            h = h.mean(dim=(2, 3), keepdim=True)
        for i in range(3):
            h = self.L(f"contrast_encoder.dense{i}")(h)
            if i < 2:
                h = F.relu(h)
        return self.split_code(h, self.cfg["contrast_channels"], eps)

    def decode(self, za, zc, background):
        if zc.shape[0] != za.shape[0] or zc.shape[2:] != za.shape[2:]:
            zc = zc.expand(za.shape[0], zc.shape[1], za.shape[2], za.shape[3])
        h = torch.cat([za, zc], 1)
        for i in range(5):
            if self.upsample:
                if self.dec_strides[i] == 2:
                    h = F.interpolate(h, scale_factor=2, mode="nearest")
                h = F.relu(self.L(f"decoder.conv{i}")(h))
            else:
                h = F.relu(self.L(f"decoder.tconv{i}")(h))
        out = torch.sigmoid(self.L("decoder.out")(h))
        fg = background >= self.cfg["background_threshold"]
        return torch.where(fg, out, background.detach())

    def discriminate(self, x):
        h = x
        for i in range(3):
            h = self.L(f"discriminator.conv{i}")(h)
            h = F.leaky_relu(self.L(f"discriminator.bn{i}")(h), self.cfg["disc_leaky_alpha"])
        return self.L("discriminator.out")(h)

    def site_logits(self, za):
        # "pooled": each channel's spatial mean and mean square; "flat": the whole code.
        h = torch.cat([za.mean((2, 3)), (za * za).mean((2, 3))], 1) if self.site_pooled else za.flatten(1)
        return self.L("site_head.fc2")(F.relu(self.L("site_head.fc1")(h)))


def kl(mu, logvar, reduction="mean"):
    """Summed over a sample's elements and averaged over the batch, or averaged over all elements."""
    per = -0.5 * (1 + logvar - mu * mu - logvar.exp()).flatten(1)
    return per.mean() if reduction == "mean" else per.sum(1).mean()


def train_step(m, opts, batch, tc):
    """The three updates of model/trainer.cpp, in the same order and with the same detaching."""
    s1, s2, site = batch
    n = s1.shape[0]
    gamma = torch.empty(n, 1, 1, 1, device=s1.device).uniform_(tc["gamma_min"], tc["gamma_max"])
    s1g, s2g = s1.pow(gamma), s2.pow(gamma)
    fg = (s1 >= m.cfg["background_threshold"]).float()
    lat = (s1.shape[2] // 16, s1.shape[3] // 16)
    amu, alv, az = m.encode_anatomy(s1, torch.randn(n, m.cfg["anatomy_channels"], *lat, device=s1.device))
    cshape = (1, 1) if m.cfg["contrast_pooled"] else lat
    cmu, clv, cz = m.encode_contrast(s2g, torch.randn(n, m.cfg["contrast_channels"], *cshape, device=s1.device))
    fake = m.decode(az, cz, s1g)
    # discriminator
    opts["discriminator"].zero_grad(set_to_none=True)
    dr, df = m.discriminate(s1g), m.discriminate(fake.detach())
    real_t = 1 - tc["real_label_noise"] * torch.rand_like(dr)
    d_loss = 0.5 * (F.binary_cross_entropy_with_logits(dr, real_t) + F.binary_cross_entropy_with_logits(df, torch.zeros_like(df)))
    d_loss.backward()
    opts["discriminator"].step()
    # site head on the detached anatomy code
    opts["site_head"].zero_grad(set_to_none=True)
    s_loss = F.cross_entropy(m.site_logits(az.detach()), site, label_smoothing=tc["site_smoothing"])
    s_loss.backward()
    opts["site_head"].step()
    # generator, adversaries frozen
    for g in ("discriminator", "site_head"):
        for p in m.groups()[g]:
            p.requires_grad_(False)
    opts["generator"].zero_grad(set_to_none=True)
    dg = m.discriminate(fake)
    adv = F.binary_cross_entropy_with_logits(dg, torch.ones_like(dg))
    conf = -F.log_softmax(m.site_logits(az), 1).mean()
    l1 = ((fake - s1g).abs() * fg).sum() / fg.sum().clamp_min(1)
    red = tc.get("kl_reduction", "mean")
    k = kl(amu, alv, red) + (kl(cmu, clv, red) if tc["kl_contrast"] else 0)
    total = tc["lambda_adv"] * adv + tc["lambda_confusion"] * conf + tc["lambda_l1"] * l1 + tc["lambda_kl"] * k
    total.backward()
    opts["generator"].step()
    for g in ("discriminator", "site_head"):
        for p in m.groups()[g]:
            p.requires_grad_(True)
    return total


DEFAULT_MODEL = {"image_h": 128, "image_w": 128, "encoder_widths": [16, 32, 64, 128, 128], "anatomy_channels": 64,
                 "contrast_channels": 64, "contrast_dense_width": 128, "contrast_pooled": False,
                 "decoder_widths": [128, 64, 32, 16, 8], "disc_width": 64, "disc_leaky_alpha": 0.3,
                 "bn_momentum": 0.01, "bn_eps": 1e-3, "site_hidden": 128, "n_sites": 4,
                 "background_threshold": 0.001}
DEFAULT_TRAIN = {"gamma_min": 0.5, "gamma_max": 1.5, "real_label_noise": 0.1, "site_smoothing": 0.1,
                 "lambda_adv": 1.0, "lambda_confusion": 1.0, "lambda_l1": 100.0, "lambda_kl": 1e-3,
                 "kl_contrast": True, "lr": 1e-4, "beta1": 0.5}


def cmd_check(args):
    tensors, meta = read_safetensors(args.state)
    cfg = json.loads(meta["model_config"])
    m = ImUnity(cfg).eval()
    n = m.load_ours(tensors)
    x, c = tensors["input.anatomy"], tensors["input.contrast"]
    with torch.no_grad():
        amu, _, _ = m.encode_anatomy(x)
        cmu, _, _ = m.encode_contrast(c)
        out = m.decode(amu, cmu, x)
        d = m.discriminate(out)
        s = m.site_logits(amu)
    worst = 0.0
    for name, mine in [("anatomy_mu", amu), ("contrast_mu", cmu), ("output", out), ("disc_logits", d), ("site_logits", s)]:
        ref = tensors["output." + name]
        rel = float((mine - ref).norm() / ref.norm().clamp_min(1e-30))
        worst = max(worst, rel)
        print(f"  {name:12s} {list(ref.shape)}  rel error {rel:.2e}")
    print(f"forward agreement over {n} layers: worst rel error {worst:.2e}")
    return 0 if worst < args.tol else 1


def cmd_bench(args):
    dev = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cudnn.benchmark = True
    results = []
    for size in args.size:
        h, w = (int(v) for v in size.split("x"))
        for batch in args.batch:
            cfg = dict(DEFAULT_MODEL, image_h=h, image_w=w)
            m = ImUnity(cfg).to(dev).train()
            groups = m.groups()
            opts = {g: torch.optim.Adam(ps, lr=DEFAULT_TRAIN["lr"], betas=(DEFAULT_TRAIN["beta1"], 0.999)) for g, ps in groups.items()}
            gen = torch.Generator(device="cpu").manual_seed(0)
            s1 = torch.rand(batch, 1, h, w, generator=gen).to(dev)
            s2 = torch.rand(batch, 1, h, w, generator=gen).to(dev)
            site = torch.randint(0, cfg["n_sites"], (batch,), generator=gen).to(dev)
            step = train_step
            if args.compile:
                step = torch.compile(train_step)
            ctx = torch.autocast(device_type=dev.type, dtype=torch.bfloat16) if args.bf16 else torch.autocast(device_type=dev.type, enabled=False)

            def sync():
                if dev.type == "cuda":
                    torch.cuda.synchronize()
            with ctx:
                for _ in range(args.warmup):
                    step(m, opts, (s1, s2, site), DEFAULT_TRAIN)
                sync()
                t0 = time.perf_counter()
                for _ in range(args.steps):
                    step(m, opts, (s1, s2, site), DEFAULT_TRAIN)
                sync()
                t_train = (time.perf_counter() - t0) / args.steps
                m.eval()
                with torch.no_grad():
                    code = m.encode_contrast(s2[:1])[0]
                    for _ in range(args.warmup):
                        m.decode(m.encode_anatomy(s1)[0], code, s1)
                    sync()
                    t0 = time.perf_counter()
                    for _ in range(args.steps):
                        m.decode(m.encode_anatomy(s1)[0], code, s1)
                    sync()
                    t_inf = (time.perf_counter() - t0) / args.steps
            r = {"size": size, "batch": batch, "device": str(dev), "threads": torch.get_num_threads(),
                 "compile": args.compile, "bf16": args.bf16, "tf32": args.tf32,
                 "train_step_ms": 1e3 * t_train, "train_slices_per_s": batch / t_train,
                 "inference_slices_per_s": batch / t_inf}
            results.append(r)
            print(f"pytorch {torch.__version__} {dev.type} size {size} batch {batch}: train step {1e3 * t_train:.1f} ms "
                  f"({batch / t_train:.1f} slices/s), inference {batch / t_inf:.1f} slices/s", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("state")
    c.add_argument("--tol", type=float, default=1e-4)
    b = sub.add_parser("bench")
    b.add_argument("--device", default="cpu")
    b.add_argument("--threads", type=int, default=0)
    b.add_argument("--batch", type=int, nargs="+", default=[16])
    b.add_argument("--size", nargs="+", default=["128x128"])
    b.add_argument("--steps", type=int, default=10)
    b.add_argument("--warmup", type=int, default=2)
    b.add_argument("--compile", action="store_true")
    b.add_argument("--bf16", action="store_true")
    b.add_argument("--tf32", action="store_true")
    b.add_argument("--json")
    args = p.parse_args()
    return cmd_check(args) if args.cmd == "check" else cmd_bench(args)


if __name__ == "__main__":
    sys.exit(main())
