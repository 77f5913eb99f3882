// The tape: accumulation over several uses, NoGrad, detach, frozen parameters, retained tapes.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/param_group.h"

using namespace im;

TEST_CASE("autograd: gradients accumulate when a tensor is used twice") {
  Tensor x = Tensor::from_vector({-1.f, 2.f, 0.5f}, {3}).set_requires_grad(true);
  Tensor a = sigmoid(x);
  Tensor b = relu(x);
  // d/dx of (sigmoid(x) . w1 + relu(x) . w2) with seed gradients on two roots.
  autograd::backward(a, Tensor::full({3}, 1.f), true);
  autograd::backward(b, Tensor::full({3}, 1.f));
  std::vector<float> g = x.grad().to_vector();
  std::vector<float> xs = {-1.f, 2.f, 0.5f};
  for (int i = 0; i < 3; ++i) {
    float s = 1.f / (1.f + std::exp(-xs[i]));
    float expect = s * (1 - s) + (xs[i] > 0 ? 1.f : 0.f);
    CHECK(g[i] == Approx(expect).epsilon(1e-6));
  }
  CHECK(autograd::tape_size() == 0);
}

TEST_CASE("autograd: NoGrad records nothing and detach stops the gradient") {
  Tensor x = Tensor::from_vector({1.f, -2.f}, {2}).set_requires_grad(true);
  {
    NoGrad ng;
    Tensor y = sigmoid(x);
    CHECK_FALSE(y.requires_grad());
    CHECK(autograd::tape_size() == 0);
  }
  Tensor y = sigmoid(x.detach());
  CHECK_FALSE(y.requires_grad());
  CHECK_THROWS(autograd::backward(y, Tensor::full({2}, 1.f)));
}

TEST_CASE("autograd: intermediate gradients are freed, leaves keep theirs") {
  Tensor x = Tensor::from_vector({1.f, -2.f}, {2}).set_requires_grad(true);
  Tensor h = sigmoid(x);
  Tensor y = relu(h);
  autograd::backward(y, Tensor::full({2}, 1.f));
  CHECK(x.has_grad());
  CHECK_FALSE(h.has_grad());
}

TEST_CASE("autograd: parameters of a group share one gradient buffer; frozen ones get none") {
  ParamGroup g("test");
  Tensor w1 = g.add("w1", {3});
  Tensor w2 = g.add("w2", {2});
  g.finalize(Device::CPU);
  w1.copy_from(Tensor::from_vector({1.f, -1.f, 2.f}, {3}));
  w2.copy_from(Tensor::from_vector({0.5f, -0.5f}, {2}));
  CHECK(g.numel() >= 5);
  autograd::backward(sigmoid(w1), Tensor::full({3}, 1.f));
  std::vector<float> all = g.grads().to_vector();
  CHECK(all[0] != 0.f);
  CHECK(all[g.find("w2")->offset] == 0.f);
  g.zero_grad();
  g.set_requires_grad(false);
  Tensor x = Tensor::from_vector({1.f, 1.f}, {2}).set_requires_grad(true);
  // A frozen parameter still passes the gradient through to other inputs of the same graph.
  autograd::backward(relu(x), Tensor::full({2}, 1.f));
  Tensor y = sigmoid(w2);
  CHECK_FALSE(y.requires_grad());
  for (float v : g.grads().to_vector()) CHECK(v == 0.f);
}
