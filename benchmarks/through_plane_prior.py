"""Feasibility of a learned through-plane prior for thick-slice inputs (issue 13: `thick_slices`).

Usage (Debian's /usr/bin/python3 with python3-torch, nibabel, scikit-image; about 4 minutes on 2 cores):
  through_plane_prior.py [--data ../shared/data] [--steps 1500] [--threads 2]
A small residual 2-D CNN (7 3x3 convolutions, 32 channels) is trained blind on planes that contain
z (sagittal and coronal) of IXI-HH training volumes (subjects 20-79 sorted by name), degraded as
imunity-simulate degrades slices (block mean of f voxels along z, linear re-interpolation; f drawn
from 1-4) with Gaussian noise (sigma 0-0.05 of the WM level), to give back the thin-slice plane.
It is then run on 8 held-out subjects (the first 8, the reproducibility run's test subjects) in
both plane families (averaged) and scored by brain SSIM against the real volume (2-D axial,
11 x 11 Gaussian, sigma 1.5, mean over the brain, intensities divided by the brain's 90th
percentile). Printed per degradation: SSIM of the degraded and of the restored volume. Not part of
the product: it measured whether the idea was worth building in the engine. It was: the engine's
version is model/thickslice.h with imunity-thickslice-train and imunity-harmonize --thick-slices
(docs/thickslice-model-card.md).
"""
import argparse
import glob
import time

import nibabel as nib
import numpy as np
import torch
import torch.nn as nn
from skimage.metrics import structural_similarity

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--data", default="../shared/data")
p.add_argument("--steps", type=int, default=1500)
p.add_argument("--threads", type=int, default=2)
args = p.parse_args()
torch.set_num_threads(args.threads)
rng = np.random.default_rng(0); torch.manual_seed(0)
D = args.data + '/ixi_hh_2mm'
files = sorted(glob.glob(D + '/t1/*.nii.gz'))
def load(f):
    v = nib.load(f).get_fdata().astype(np.float32)
    s = f.split('/')[-1].replace('.nii.gz', '')
    lab = nib.load(f'{D}/labels/{s}_DLMUSE.nii.gz').get_fdata() > 0
    wm = np.percentile(v[lab], 90); return v / wm, lab
def degrade(v, f):  # along the last axis (z of a volume, of a plane containing z): block mean, linear back
    if f == 1: return v.copy()
    n = v.shape[-1]; b = (n + f - 1) // f
    avg = np.stack([v[..., i*f:min(n, (i+1)*f)].mean(-1) for i in range(b)], -1)
    p = np.clip((np.arange(n) - (f - 1) / 2) / f, 0, b - 1); b0 = np.floor(p).astype(int); b1 = np.minimum(b0 + 1, b - 1); w = p - b0
    return ((1 - w) * avg[..., b0] + w * avg[..., b1]).astype(np.float32)
train = [load(f) for f in files[20:80]]; test = [load(f) for f in files[:8]]
class Net(nn.Module):
    def __init__(s, c=32, L=7):
        super().__init__(); layers = [nn.Conv2d(1, c, 3, padding=1), nn.ReLU()]
        for _ in range(L - 2): layers += [nn.Conv2d(c, c, 3, padding=1), nn.ReLU()]
        layers += [nn.Conv2d(c, 1, 3, padding=1)]; s.f = nn.Sequential(*layers)
    def forward(s, x): return x + s.f(x)
net = Net(); opt = torch.optim.Adam(net.parameters(), 1e-3)
def batch(B=16, P=48):
    xs, ys = [], []
    for _ in range(B):
        v, _ = train[rng.integers(len(train))]; f = int(rng.integers(1, 5)); sig = rng.uniform(0, 0.05)
        i = rng.integers(30, 90); t = v[i] if rng.random() < 0.5 else v[:, i]
        a = degrade(t, f) + rng.normal(0, sig, t.shape).astype(np.float32)
        y0 = rng.integers(0, a.shape[0] - P); z0 = rng.integers(0, a.shape[1] - P)
        xs.append(a[y0:y0+P, z0:z0+P]); ys.append(t[y0:y0+P, z0:z0+P])
    return torch.tensor(np.array(xs, np.float32))[:, None], torch.tensor(np.array(ys, np.float32))[:, None]
steps = args.steps; t0 = time.time()
for s in range(steps):
    x, y = batch(); loss = (net(x) - y).abs().mean(); opt.zero_grad(); loss.backward(); opt.step()
    if s == int(steps * 0.7): [g.update(lr=3e-4) for g in opt.param_groups]
    if s % 250 == 0: print(s, float(loss), f'{time.time()-t0:.0f}s', flush=True)
def restore(d):
    with torch.no_grad():  # both plane families, averaged
        a = net(torch.tensor(d)[:, None]).numpy()[:, 0]
        b = net(torch.tensor(d.transpose(1, 0, 2).copy())[:, None]).numpy()[:, 0].transpose(1, 0, 2)
    return (a + b) / 2
def bssim(a, t, m):  # 2-D axial, Gaussian 11x11 sigma 1.5, mean over brain voxels
    num = den = 0.0
    for k in range(t.shape[2]):
        if m[:, :, k].mean() < 0.01: continue
        _, S = structural_similarity(t[:, :, k], np.clip(a[:, :, k], 0, 1.2), data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, full=True)
        num += S[m[:, :, k]].sum(); den += m[:, :, k].sum()
    return num / den
for f, sig in [(3, 0.015), (1, 0.0), (2, 0.045)]:
    r0, r1 = [], []
    for v, m in test:
        d = (degrade(v, f) + np.random.default_rng(1).normal(0, sig, v.shape)).astype(np.float32)
        r0.append(bssim(d, v, m)); r1.append(bssim(restore(d), v, m))
    print(f'factor {f} noise {sig}: degraded {np.mean(r0):.4f} restored {np.mean(r1):.4f}  (+{np.mean(r1)-np.mean(r0):.4f}, better in {sum(b>a for a,b in zip(r0,r1))}/{len(r0)})', flush=True)
