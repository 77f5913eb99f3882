"""Writes reference fixtures: {key: {"shape": [...], "data": [...]}} as JSON under fixtures/."""
import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def tensor_entry(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def save(name, entries, meta=None):
    """entries: {key: tensor or nested dict}; meta: free-form description of how it was made."""
    def conv(v):
        if isinstance(v, torch.Tensor):
            return tensor_entry(v)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v
    out = {"_generator": f"tests/reference/{meta or 'unknown'} with torch {torch.__version__}"}
    out.update({k: conv(v) for k, v in entries.items()})
    path = os.path.join(HERE, "fixtures", name + ".json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {path}")


def inputs(seed, *shape, lo=-1.0, hi=1.0):
    """Deterministic inputs from torch's own generator (independent of our RNG)."""
    g = torch.Generator().manual_seed(seed)
    return lo + (hi - lo) * torch.rand(*shape, generator=g, dtype=torch.float64)
