"""PyTorch CPU timings of conv / transposed conv forward and backward, for imunity-bench-ops.

Usage: /usr/bin/python3 benchmarks/torch_ops.py --threads 2 --reps 5 --batch 16 \
           --layers name:conv|convT:cin:cout:k:stride:h:w,...
Prints one line per layer: "name fwd_ms bwd_ms" (best of --reps after a warm-up), then "machine ...".
Backward = gradients of x, w and bias for a fixed random upstream gradient, as imunity-bench-ops does.
"""
import argparse
import time

import torch
import torch.nn.functional as F


def run(kind, cin, cout, k, stride, h, w, batch, reps):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, cin, h, w, generator=g).requires_grad_()
    if kind == "conv":
        wt = torch.rand(cout, cin, k, k, generator=g).requires_grad_()
        f = lambda: F.conv2d(x, wt, b, stride=stride, padding=k // 2)
    else:
        wt = torch.rand(cin, cout, k, k, generator=g).requires_grad_()
        f = lambda: F.conv_transpose2d(x, wt, b, stride=stride, padding=k // 2, output_padding=stride - 1)
    b = torch.rand(cout, generator=g).requires_grad_()
    with torch.no_grad():
        dy = torch.rand_like(f())
    best_f = best_b = float("inf")
    for r in range(reps + 1):  # the first repetition warms up
        t0 = time.perf_counter()
        y = f()
        t1 = time.perf_counter()
        torch.autograd.grad(y, [x, wt, b], dy)
        t2 = time.perf_counter()
        if r > 0:
            best_f = min(best_f, t1 - t0)
            best_b = min(best_b, t2 - t1)
    return 1e3 * best_f, 1e3 * best_b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--layers", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for spec in a.layers.split(","):
        name, kind, *nums = spec.split(":")
        cin, cout, k, stride, h, w = map(int, nums)
        fwd, bwd = run(kind, cin, cout, k, stride, h, w, a.batch, a.reps)
        print(f"{name} {fwd:.4f} {bwd:.4f}", flush=True)
    print(f"machine torch {torch.__version__} threads {torch.get_num_threads()} "
          f"mkldnn {int(torch.backends.mkldnn.is_available())}")


if __name__ == "__main__":
    main()
