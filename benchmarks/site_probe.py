"""How much of the site is left in the anatomy code: the model's own site head and a fresh probe.

Usage (Debian's /usr/bin/python3 with python3-torch and nibabel):
  site_probe.py MODEL.safetensors --train-dir T --test-dir H
T and H hold model inputs named <site>_<anything>.nii.gz (imunity-prep --plane 128x128 of each
volume with its brain mask), one site name of the checkpoint per file; T from training subjects,
H from held-out subjects (the same held-out anatomy through every site). Every slice with >= 1%
brain is encoded (anatomy mean code). Printed: the checkpoint's site head on H (the adversary
training fought), and a fresh probe trained on T's codes and tested on H's: logistic regression
and a one-hidden-layer MLP on pooled code features (4 x 4 average pool, per-channel mean and sd),
class-balanced, with per-site accuracy; chance is 1 / number of sites.

To tell what carries the site, --blur S smooths every brain slice (Gaussian, sigma S pixels, within
the brain) and --noise S adds Rician noise of sigma S to it, training and held-out alike, before
encoding: a site recognized by its noise or fine texture drops with them, one recognized by its
contrast does not. --rank replaces each slice's brain voxels by their rank within the slice
(0.05 to 1): every monotone intensity curve is gone, the anatomy's order stays.
"""
import argparse
import glob
import json
import os
import struct
import sys

import numpy as np
import nibabel as nib
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import ImUnity  # noqa: E402


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__")
    tensors = {}
    for k, v in header.items():
        a, b = v["data_offsets"]
        tensors[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).reshape(v["shape"]).copy())
    return meta, tensors


def degrade(x, blur, noise, gen, rank=False):
    """x [N, 1, H, W] (brain > 0, background 0) smoothed within the brain and/or with Rician noise,
    or each slice's brain replaced by its within-slice ranks."""
    brain = (x > 0).float()
    if rank:
        # Ordinal ranks (ties broken by position), not the model's mid-ranks
        # (pytorch_reference.ImUnity.rank_normalize): the figures in docs/training.md were made with
        # these. Prep's clip at 1 makes large ties; with mid-ranks the stage-6 probe gives 0.260 / 0.272
        # instead of 0.311 / 0.314.
        out = x.clone()
        for i in range(x.shape[0]):
            b = brain[i, 0] > 0
            v = x[i, 0][b]
            out[i, 0][b] = 0.05 + 0.95 * torch.argsort(torch.argsort(v)).float() / max(v.numel() - 1, 1)
        x = out
    if blur > 0:
        r = int(3 * blur + 0.5)
        k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=torch.float32) / blur) ** 2)
        k = k / k.sum()
        def smooth(t):
            t = torch.nn.functional.conv2d(t, k.view(1, 1, 1, -1), padding=(0, r))
            return torch.nn.functional.conv2d(t, k.view(1, 1, -1, 1), padding=(r, 0))
        x = smooth(x * brain) / smooth(brain).clamp(min=1e-6) * brain
    if noise > 0:
        re = x + noise * torch.randn(x.shape, generator=gen)
        im = noise * torch.randn(x.shape, generator=gen)
        x = torch.sqrt(re * re + im * im).clamp(1e-4, 1) * brain
    return x


def codes(model, sites, folder, blur=0.0, noise=0.0, seed=0, rank=False):
    """Anatomy mean codes of every brain slice of every <site>_*.nii.gz in folder, with site labels."""
    gen = torch.Generator().manual_seed(seed)
    out, labels = [], []
    for si, s in enumerate(sites):
        files = sorted(glob.glob(os.path.join(folder, f"{s}_*.nii.gz")))
        for p in files:
            v = nib.load(p).get_fdata().astype(np.float32)
            zs = [z for z in range(v.shape[2]) if (v[:, :, z] > 0).mean() >= 0.01]
            x = degrade(torch.from_numpy(np.stack([v[:, :, z].T for z in zs])[:, None]), blur, noise, gen, rank)
            with torch.no_grad():
                amu, _, _ = model.encode_anatomy(x)
            out.append(amu)
            labels += [si] * len(zs)
    if not out:
        sys.exit(f"site_probe: no <site>_*.nii.gz files of sites {sites} in {folder}")
    return torch.cat(out), torch.tensor(labels)


def per_site(pred, y, n):
    return [round(float((pred[y == i] == i).float().mean()), 3) if (y == i).any() else None for i in range(n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--train-dir", required=True)
    ap.add_argument("--test-dir", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--blur", type=float, default=0.0, help="Gaussian sigma (pixels) within the brain before encoding")
    ap.add_argument("--noise", type=float, default=0.0, help="Rician noise sigma added before encoding")
    ap.add_argument("--rank", action="store_true", help="each slice's brain voxels replaced by their within-slice rank")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    meta, t = load_safetensors(a.model)
    cfg = json.loads(meta["model_config"])
    sites = json.loads(meta["site_names"]) if "site_names" in meta else cfg["site_names"]
    m = ImUnity(cfg)
    m.load_ours(t)
    m.eval()
    if a.blur < 0 or a.noise < 0:
        sys.exit("site_probe: --blur and --noise must be >= 0")
    ztr, ytr = codes(m, sites, a.train_dir, a.blur, a.noise, a.seed, a.rank)
    zte, yte = codes(m, sites, a.test_dir, a.blur, a.noise, a.seed + 1, a.rank)
    k = len(sites)
    print(f"sites {sites}; {len(ytr)} training slices, {len(yte)} held-out slices; chance {1 / k:.3f}"
          + (f"; inputs blurred (sigma {a.blur}) / with noise (sigma {a.noise})" if a.blur or a.noise else "")
          + ("; inputs replaced by their within-slice ranks" if a.rank else ""))
    with torch.no_grad():
        own = m.site_logits(zte).argmax(1)
    print(f"model's site head, held out: {float((own == yte).float().mean()):.3f} per site {per_site(own, yte, k)}")

    def feats(z):
        return torch.cat([torch.nn.functional.adaptive_avg_pool2d(z, 4).flatten(1), z.mean((2, 3)), z.std((2, 3))], 1)
    xtr, xte = feats(ztr), feats(zte)
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
    xtr, xte = (xtr - mu) / sd, (xte - mu) / sd
    weight = torch.bincount(ytr, minlength=k).float().clamp(min=1)
    weight = weight.sum() / weight / k
    for name, net in (("logistic", torch.nn.Linear(xtr.shape[1], k)),
                      ("MLP", torch.nn.Sequential(torch.nn.Linear(xtr.shape[1], 64), torch.nn.ReLU(), torch.nn.Linear(64, k)))):
        opt = torch.optim.Adam(net.parameters(), 1e-2, weight_decay=1e-3)
        for _ in range(400):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xtr), ytr, weight=weight).backward()
            opt.step()
        with torch.no_grad():
            pred = net(xte).argmax(1)
        print(f"fresh probe ({name}), held out: {float((pred == yte).float().mean()):.3f} per site {per_site(pred, yte, k)}")


if __name__ == "__main__":
    main()
