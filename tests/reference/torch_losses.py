"""Reference values and gradients of the fused ImUnity losses (engine/losses.h), in float64 with
PyTorch: KL divergence, site cross-entropy with label smoothing (F.cross_entropy),
the confusion loss of eq. (2), BCE with logits (F.binary_cross_entropy_with_logits), masked L1,
and SSIM computed as TensorFlow's tf.image.ssim (re-implemented below with conv2d), itself
cross-checked against scikit-image."""
import numpy as np
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

from fixture_io import inputs as inputs64
from fixture_io import save

torch.set_default_dtype(torch.float64)
out = {}


def inputs(seed, *shape, lo=-1.0, hi=1.0):
    """Inputs rounded to float32 (what the fixture stores and our code reads), held in float64."""
    return inputs64(seed, *shape, lo=lo, hi=hi).float().double()


def grads(loss, *xs):
    return torch.autograd.grad(loss, xs)


# ---- KL(N(mu, exp(lv)) || N(0, 1)), summed per sample, mean over the batch.
mu = inputs(4, 3, 4, 2, 2, lo=-2, hi=2).requires_grad_()
lv = inputs(5, 3, 4, 2, 2, lo=-3, hi=2).requires_grad_()
kl = (-0.5 * (1 + lv - mu ** 2 - lv.exp())).sum() / mu.shape[0]
dmu, dlv = grads(kl, mu, lv)
out["kl"] = {"mu": mu, "logvar": lv, "loss": kl.reshape(1), "dmu": dmu, "dlogvar": dlv}

# ---- site losses on logits [6, 5]; a second set of large logits tests the stable log-softmax.
labels = torch.tensor([0.0, 3.0, 4.0, 1.0, 1.0, 2.0])
for name, scale in [("site", 1.0), ("site_large", 40.0)]:
    logits = (scale * inputs(6, 6, 5, lo=-4, hi=4)).float().double().requires_grad_()
    entry = {"logits": logits, "labels": labels}
    for smoothing in (0.0, 0.1):
        ce = F.cross_entropy(logits, labels.long(), label_smoothing=smoothing)
        (d,) = grads(ce, logits)
        entry[f"ce_{smoothing:g}"] = {"loss": ce.reshape(1), "dlogits": d}
    # Eq. (2): -(1/N) sum_i sum_s log(p_i^s) / S.
    conf = -(F.log_softmax(logits, dim=1).sum(dim=1) / logits.shape[1]).mean()
    (d,) = grads(conf, logits)
    entry["confusion"] = {"loss": conf.reshape(1), "dlogits": d}
    out[name] = entry

# ---- BCE with logits, including saturated logits (+-60) and soft targets.
bl = inputs(7, 4, 1, 3, 3, lo=-10, hi=10)
bl[0, 0, 0, 0], bl[1, 0, 1, 1], bl[2, 0, 2, 2] = 60.0, -60.0, 0.0
bl.requires_grad_()
bt = inputs(8, 4, 1, 3, 3, lo=0, hi=1)
bt[0, 0, 0, 1], bt[0, 0, 0, 2] = 0.0, 1.0
bt.requires_grad_()
bce = F.binary_cross_entropy_with_logits(bl, bt)
dl, dt = grads(bce, bl, bt)
out["bce"] = {"logits": bl, "targets": bt, "loss": bce.reshape(1), "dlogits": dl, "dtargets": dt}

# ---- masked L1 with a partial mask and a few exact ties (sign(0) = 0).
a = inputs(9, 2, 1, 5, 6, lo=0, hi=1)
b = inputs(10, 2, 1, 5, 6, lo=0, hi=1)
mask = (inputs(11, 2, 1, 5, 6, lo=0, hi=1) > 0.4).to(torch.float64)
mask[0, 0, 0, 0] = mask[1, 0, 2, 3] = 1.0
b[0, 0, 0, 0], b[1, 0, 2, 3] = a[0, 0, 0, 0], a[1, 0, 2, 3]
a.requires_grad_()
b.requires_grad_()
l1 = (a - b).abs()[mask > 0].mean()
da, db = grads(l1, a, b)
out["masked_l1"] = {"a": a, "b": b, "mask": mask, "loss": l1.reshape(1), "da": da, "db": db}


# ---- SSIM as tf.image.ssim(max_val=1, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03):
# Gaussian-weighted local statistics over 'valid' windows only, biased (co)variances.
def gaussian_window(size=11, sigma=1.5):
    c = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-c ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return torch.outer(g, g)[None, None]  # tf's softmax of -(x^2 + y^2) / (2 sigma^2): the same


def tf_ssim_map(a, b):
    w = gaussian_window()
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mu_a, mu_b = F.conv2d(a, w), F.conv2d(b, w)
    num0, den0 = 2 * mu_a * mu_b, mu_a ** 2 + mu_b ** 2
    luminance = (num0 + c1) / (den0 + c1)
    num1, den1 = 2 * F.conv2d(a * b, w), F.conv2d(a * a + b * b, w)
    cs = (num1 - num0 + c2) / (den1 - den0 + c2)
    return luminance * cs


def brain_like(seed, n, h, w):
    """Smooth images in [0, 1] with a zero background border, like skull-stripped slices."""
    img = inputs(seed, n, 1, h, w, lo=0, hi=1)
    img = F.avg_pool2d(F.pad(img, (1, 1, 1, 1), mode="replicate"), 3, stride=1).float().double()
    img[:, :, :2, :] = 0.0
    img[:, :, :, -3:] = 0.0
    return img


def skimage_check(a, b, ssim_map):
    """skimage filters the whole image (reflect padding) and crops (win_size - 1) / 2 = 5 pixels per
    side before averaging; the cropped region is exactly the set of valid windows, where the padding
    plays no part. So its cropped map must equal tf.image.ssim's map, and its mean the TF mean."""
    worst = 0.0
    for i in range(a.shape[0]):
        A, B = a[i, 0].detach().numpy(), b[i, 0].detach().numpy()
        mssim, full = structural_similarity(A, B, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                            data_range=1.0, full=True)
        ours = ssim_map[i, 0].detach().numpy()
        worst = max(worst, float(np.abs(full[5:-5, 5:-5] - ours).max()), abs(mssim - float(ours.mean())))
    assert worst < 1e-10, f"tf-style SSIM disagrees with skimage by {worst}"
    return worst


skimage_diff = 0.0
for name, seed, (n, h, w) in [("ssim_16x16", 12, (2, 16, 16)), ("ssim_24x20", 14, (1, 24, 20))]:
    a = brain_like(seed, n, h, w)
    noise = inputs(seed + 1, n, 1, h, w, lo=-0.15, hi=0.15)
    b = (0.8 * a + 0.1 + noise).clamp(0, 1).float().double()
    b[:, :, :2, :] = 0.0
    a.requires_grad_()
    b.requires_grad_()
    smap = tf_ssim_map(a, b)
    skimage_diff = max(skimage_diff, skimage_check(a, b, smap))
    loss = 1 - smap.mean(dim=(1, 2, 3)).mean()  # tf.image.ssim per image, then the batch mean
    da, db = grads(loss, a, b)
    out[name] = {"a": a, "b": b, "loss": loss.reshape(1), "da": da, "db": db}

save("losses", out, meta=f"torch_losses.py (SSIM map vs skimage {structural_similarity.__module__}: "
                         f"max difference {skimage_diff:.1e} on the valid windows)")
