// A tiny MLP (2 -> 32 -> 32 -> 1, ReLU) regressing a fixed smooth function with Adam; shared by
// tests/ops/test_mlp_learns.cpp (CPU) and tests/parity/parity_mlp_learns.cpp (GPU).
#pragma once
#include <cmath>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/param_group.h"
#include "support/gradcheck.h"

namespace im::test {

struct ToyMlpRun {
  std::vector<float> losses;  // one per step, before the update
};

inline ToyMlpRun train_toy_mlp(Device dev, int steps) {
  const int64_t N = 256, H = 32;
  // Inputs in [-2, 2]^2; target sin(2 x0) cos(x1), computed on the host.
  Tensor x = random_tensor({N, 2}, 101, -2.f, 2.f);
  std::vector<float> xv = x.to_vector(), tv(N);
  for (int64_t i = 0; i < N; ++i) tv[i] = std::sin(2.f * xv[2 * i]) * std::cos(xv[2 * i + 1]);
  Tensor target = Tensor::from_vector(tv, {N, 1});

  ParamGroup g("toy_mlp");
  struct Layer {
    Tensor w, b;
  };
  const int64_t dims[4] = {2, H, H, 1};
  std::vector<Layer> layers;
  for (int l = 0; l < 3; ++l)
    layers.push_back({g.add("w" + std::to_string(l), {dims[l + 1], dims[l]}), g.add("b" + std::to_string(l), {dims[l + 1]})});
  g.finalize(Device::CPU);
  for (int l = 0; l < 3; ++l) {  // PyTorch's default init: U(-1/sqrt(in), 1/sqrt(in))
    const float k = 1.f / std::sqrt(static_cast<float>(dims[l]));
    layers[l].w.copy_from(random_tensor(layers[l].w.shape(), 200 + l, -k, k));
    layers[l].b.copy_from(random_tensor(layers[l].b.shape(), 300 + l, -k, k));
  }
  g.to(dev);
  x = x.to(dev);
  target = target.to(dev);

  AdamConfig cfg;
  cfg.lr = 1e-2f;
  cfg.beta1 = 0.9f;
  ToyMlpRun run;
  for (int step = 0; step < steps; ++step) {
    g.zero_grad();
    Tensor h = x;
    for (int l = 0; l < 3; ++l) {
      h = linear(h, layers[l].w, layers[l].b);
      if (l < 2) h = relu(h);
    }
    Tensor d = sub(h, target);
    Tensor loss = mean(mul(d, d));
    run.losses.push_back(loss.item());
    autograd::backward(loss);
    adam_step(g, cfg);
  }
  return run;
}

}  // namespace im::test
