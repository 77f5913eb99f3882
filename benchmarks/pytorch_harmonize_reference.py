#!/usr/bin/env python3
"""Network-only inference time of the ImUnity generator in PyTorch, for imunity-bench-harmonize.

  pytorch_harmonize_reference.py [--threads 2] [--runs 3] [--case 128x128:90 224x192:182] [--batch 0]
                                 [--device cpu|cuda] [--compile]

Each case is HxW:SLICES: the anatomy encoder and the decoder (what harmonizing a volume runs,
model/trainer.cpp harmonize_slices) over SLICES random slices, --batch slices per call (0: all at
once), best of --runs (after one untimed run: warm-up, and torch.compile's compilation). On a GPU
the slices start on the device and the time ends with a synchronization. Prints one JSON object per
case. Uses the ImUnity class of pytorch_reference.py (same architecture, random weights).
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import DEFAULT_MODEL, ImUnity  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--case", nargs="+", default=["128x128:90", "224x192:182"])
    p.add_argument("--batch", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--compile", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()
    for case in a.case:
        size, n = case.split(":")
        h, w = (int(v) for v in size.split("x"))
        n = int(n)
        m = ImUnity(dict(DEFAULT_MODEL, image_h=h, image_w=w)).to(dev).eval()
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(n, 1, h, w, generator=gen).to(dev)
        batch = a.batch if a.batch > 0 else n

        def net(xb, code):
            return m.decode(m.encode_anatomy(xb)[0], code, xb)
        run = torch.compile(net) if a.compile else net
        best = float("inf")
        with torch.no_grad():
            code = m.encode_contrast(x[:1])[0]
            for r in range(a.runs + 1):
                sync()
                t0 = time.perf_counter()
                for i in range(0, n, batch):
                    run(x[i:i + batch], code)
                sync()
                if r > 0:
                    best = min(best, time.perf_counter() - t0)
        print(json.dumps({"size": size, "slices": n, "batch": batch, "threads": torch.get_num_threads(),
                          "device": str(dev), "compile": a.compile, "torch": torch.__version__, "seconds": best}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
