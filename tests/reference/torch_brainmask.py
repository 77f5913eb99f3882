"""Reference of the brain-mask U-Net (model/brainmask.cpp), written independently in PyTorch with
weights drawn here: our network loads them by name and must reproduce the outputs in inference and
training mode, the updated batch-norm statistics and every parameter's gradient."""
import torch
from torch import nn

from fixture_io import save


class ConvBn(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.05)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


class UNet(nn.Module):
    def __init__(self, widths, context, out_context):
        super().__init__()
        self.enc_a, self.enc_b, self.up, self.dec = nn.ModuleList(), nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for k, w in enumerate(widths):
            self.enc_a.append(ConvBn(2 * context + 1 if k == 0 else widths[k - 1], w, 1 if k == 0 else 2))
            self.enc_b.append(ConvBn(w, w, 1))
        for k in range(len(widths) - 1):
            self.up.append(nn.ConvTranspose2d(widths[k + 1], widths[k], 3, stride=2, padding=1, output_padding=1))
            self.dec.append(ConvBn(2 * widths[k], widths[k], 1))
        self.out = nn.Conv2d(widths[0], 2 * out_context + 1, 1)

    def forward(self, x):
        skips = []
        for a, b in zip(self.enc_a, self.enc_b):
            x = b(a(x))
            skips.append(x)
        for k in reversed(range(len(self.dec))):
            x = self.dec[k](torch.cat([self.up[k](x), skips[k]], 1))
        return self.out(x)

    def named_state(self):
        """Our names for every tensor: enc0.a.weight, enc0.a.bn.gamma, dec0.up.bias, out.weight, ..."""
        out = {}
        def convbn(prefix, m):
            out[prefix + ".weight"] = m.conv.weight
            out[prefix + ".bn.gamma"] = m.bn.weight
            out[prefix + ".bn.beta"] = m.bn.bias
            out[prefix + ".bn.running_mean"] = m.bn.running_mean
            out[prefix + ".bn.running_var"] = m.bn.running_var
        for k in range(len(self.enc_a)):
            convbn(f"enc{k}.a", self.enc_a[k])
            convbn(f"enc{k}.b", self.enc_b[k])
        for k in range(len(self.dec)):
            out[f"dec{k}.up.weight"] = self.up[k].weight
            out[f"dec{k}.up.bias"] = self.up[k].bias
            convbn(f"dec{k}.conv", self.dec[k])
        out["out.weight"] = self.out.weight
        out["out.bias"] = self.out.bias
        return out


torch.manual_seed(0)
cfg = {"widths": [3, 4, 5], "context": 2, "out_context": 1, "voxel_mm": 2.0, "bn_momentum": 0.05, "bn_eps": 1e-3}
net = UNet(cfg["widths"], cfg["context"], cfg["out_context"]).double()
with torch.no_grad():
    for name, t in net.named_state().items():
        if name.endswith("running_var") or name.endswith("gamma"):
            t.uniform_(0.5, 1.5)
        elif name.endswith("running_mean") or name.endswith("beta") or name.endswith("bias"):
            t.uniform_(-0.2, 0.2)
        else:
            t.normal_(0, (2.0 / t[0].numel()) ** 0.5)
weights = {k: v.detach().clone() for k, v in net.named_state().items()}
x = torch.rand(2, 5, 8, 12, dtype=torch.float64)
net.eval()
with torch.no_grad():
    out_eval = net(x)
net.train()
out_train = net(x)  # batch statistics; updates the running statistics
g = torch.Generator().manual_seed(1)
w_out = torch.rand(out_train.shape, generator=g, dtype=torch.float64) - 0.5
(out_train * w_out).sum().backward()
grads = {k: v.grad for k, v in net.named_state().items() if v.grad is not None}
after = {k: v.detach().clone() for k, v in net.named_state().items() if "running" in k}
save("brainmask", {"config": cfg, "weights": weights, "input": x, "out_eval": out_eval, "out_train": out_train,
                   "out_weights": w_out, "grads": grads, "running_after": after}, meta="torch_brainmask.py")
