"""Reference outputs and gradients from PyTorch (CPU, float64) of broadcast add/sub/mul and the scalar
ops (fixtures/binary.json), sum/mean over dimension ranges (reduce.json), concat/split (shape.json),
where and masked_select (where.json)."""
import torch

from fixture_io import inputs, save

out = {}

# Broadcast binary ops: y = op(a, b), gradients for the seed dy.
binary_cases = [
    ("add", (2, 3, 4, 5), (3, 1, 1)),
    ("mul", (2, 1, 4, 1), (1, 3, 1, 5)),
    ("sub", (2, 3, 4), (1,)),
    ("sub", (4, 1), (2, 1, 3)),
    ("mul", (2, 3, 4, 5), (2, 3, 4, 5)),
    ("add", (2, 3, 1, 1), (2, 3, 4, 5)),
]
ops = {"add": torch.add, "sub": torch.sub, "mul": torch.mul}
for k, (op, sa, sb) in enumerate(binary_cases):
    a = inputs(100 + k, *sa).requires_grad_()
    b = inputs(200 + k, *sb).requires_grad_()
    y = ops[op](a, b)
    dy = inputs(300 + k, *y.shape)
    da, db = torch.autograd.grad(y, [a, b], dy)
    out[f"binary{k}"] = {"op": op, "a": a, "b": b, "dy": dy, "y": y, "da": da, "db": db}

x = inputs(400, 2, 3, 4, 5).requires_grad_()
dy = inputs(401, 2, 3, 4, 5)
out["x"] = x
out["dy"] = dy
for name, fn, s in [("add_scalar", lambda t: t + 0.75, 0.75), ("mul_scalar", lambda t: t * -1.5, -1.5)]:
    y = fn(x)
    (dx,) = torch.autograd.grad(y, x, dy)
    out[name] = {"y": y, "dx": dx}

save("binary", out, meta="torch_binary.py")

# Reductions over [begin, end) of x [2, 3, 2, 3].
out = {}
x = inputs(450, 2, 3, 2, 3).requires_grad_()
out["x"] = x
for begin in range(4):
    for end in range(begin + 1, 5):
        dims = list(range(begin, end))
        for kind in ("sum", "mean"):
            y = x.sum(dim=dims) if kind == "sum" else x.mean(dim=dims)
            if y.dim() == 0:
                y = y.reshape(1)  # our reductions return shape [1], never a 0-d tensor
            g = inputs(500 + 10 * begin + end, *y.shape)
            (dx,) = torch.autograd.grad(y, x, g)
            out[f"{kind}_{begin}_{end}"] = {"y": y, "dy": g, "dx": dx}
for kind in ("sum", "mean"):
    y = (x.sum() if kind == "sum" else x.mean()).reshape(1)
    (dx,) = torch.autograd.grad(y, x, torch.tensor([0.7], dtype=torch.float64))
    out[f"{kind}_all"] = {"y": y, "dx": dx}

save("reduce", out, meta="torch_binary.py")

# concat of three pieces of unequal sizes along each dim of [2, 3, 2, 3], and the matching split.
out = {}
for dim in range(4):
    sizes = [1, 3, 2]
    shapes = []
    for s in sizes:
        sh = [2, 3, 2, 3]
        sh[dim] = s
        shapes.append(sh)
    parts = [inputs(600 + 10 * dim + k, *sh).requires_grad_() for k, sh in enumerate(shapes)]
    y = torch.cat(parts, dim=dim)
    g = inputs(650 + dim, *y.shape)
    grads = torch.autograd.grad(y, parts, g)
    out[f"concat{dim}"] = {"parts": {str(k): p for k, p in enumerate(parts)}, "y": y, "dy": g,
                           "dparts": {str(k): d for k, d in enumerate(grads)}}

save("shape", out, meta="torch_binary.py")

# where / masked_select with a fixed 0/1 mask.
out = {}
mask = (inputs(700, 2, 3, 4, 5) > 0.2).to(torch.float64)
a = inputs(701, 2, 3, 4, 5).requires_grad_()
b = inputs(702, 2, 3, 4, 5).requires_grad_()
y = torch.where(mask != 0, a, b)
da, db = torch.autograd.grad(y, [a, b], dy)
out["where"] = {"mask": mask, "a": a, "b": b, "dy": dy, "y": y, "da": da, "db": db}
sel = torch.masked_select(a, mask != 0)
gs = inputs(703, *sel.shape)
(dsel,) = torch.autograd.grad(sel, a, gs)
out["masked_select"] = {"y": sel, "dy": gs, "dx": dsel}

save("where", out, meta="torch_binary.py")
