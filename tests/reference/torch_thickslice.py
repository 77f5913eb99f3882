"""Reference of the thick-slice restoration network (model/thickslice.cpp), written independently in
PyTorch with weights drawn here: our network loads them by name and must reproduce the output and
every parameter's gradient."""
import torch
from torch import nn

from fixture_io import save


class Net(nn.Module):
    def __init__(self, channels, layers):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(1 if k == 0 else channels, 1 if k == layers - 1 else channels, 3, padding=1) for k in range(layers))

    def forward(self, x):
        h = x
        for k, c in enumerate(self.convs):
            h = c(h)
            if k + 1 < len(self.convs):
                h = torch.relu(h)
        return x + h

    def named_state(self):
        out = {}
        for k, c in enumerate(self.convs):
            out[f"conv{k}.weight"] = c.weight
            out[f"conv{k}.bias"] = c.bias
        return out


torch.manual_seed(0)
cfg = {"channels": 4, "layers": 3, "voxel_mm": 2.0, "max_factor": 4}
net = Net(cfg["channels"], cfg["layers"]).double()
with torch.no_grad():
    for name, t in net.named_state().items():
        if name.endswith("bias"):
            t.uniform_(-0.2, 0.2)
        else:
            t.normal_(0, (2.0 / t[0].numel()) ** 0.5)
weights = {k: v.detach().clone() for k, v in net.named_state().items()}
x = torch.rand(2, 1, 7, 9, dtype=torch.float64)
out = net(x)
g = torch.Generator().manual_seed(1)
w_out = torch.rand(out.shape, generator=g, dtype=torch.float64) - 0.5
(out * w_out).sum().backward()
grads = {k: v.grad for k, v in net.named_state().items()}
save("thickslice", {"config": cfg, "weights": weights, "input": x, "output": out, "out_weights": w_out, "grads": grads},
     meta="torch_thickslice.py")
