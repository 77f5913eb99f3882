// The fused Adam step against torch.optim.Adam (fixture from tests/reference/torch_adam.py).
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("adam: five steps match torch.optim.Adam with beta1 = 0.5, with and without weight decay") {
  nlohmann::json fx = test::load_fixture("adam");
  for (float wd : {0.0f, 0.01f}) {
    ParamGroup g("adam");
    Tensor p = g.add("p", {37});
    g.finalize(Device::CPU);
    p.copy_from(test::fixture_tensor(fx["p0"]));
    AdamConfig cfg;
    cfg.lr = 1e-2f;
    cfg.beta1 = 0.5f;
    cfg.weight_decay = wd;
    for (int k = 0; k < 5; ++k) {
      g.zero_grad();
      p.grad().copy_from(test::fixture_tensor(fx["grad" + std::to_string(k)]));
      adam_step(g, cfg);
      std::string key = std::string(wd == 0.f ? "wd0.0" : "wd0.01") + "_step" + std::to_string(k + 1);
      std::vector<float> want = test::fixture_values(fx[key]);
      std::vector<float> got = p.to_vector();
      INFO(key);
      for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-6).epsilon(1e-5));
    }
  }
}

TEST_CASE("adam: a group built for inference has no optimizer state, refuses training, and still gives gradients") {
  ParamGroup g("inference");
  Tensor p = g.add("p", {5});
  g.finalize(Device::CPU, false);
  CHECK_FALSE(g.has_optimizer_state());
  CHECK_FALSE(g.grads().defined());
  p.copy_from(Tensor::from_vector({1, 2, 3, 4, 5}, {5}));
  CHECK_THROWS_WITH(g.zero_grad(), Catch::Contains("no optimizer state"));
  CHECK_THROWS_WITH(adam_step(g, AdamConfig{}), Catch::Contains("no optimizer state"));
  // A gradient taken through it is allocated for the parameter itself: d(sum(p * p))/dp = 2p.
  p.set_requires_grad(true);
  autograd::clear_tape();
  autograd::backward(sum(mul(p, p)));
  const std::vector<float> g2 = p.grad().to_vector();
  REQUIRE(g2.size() == 5);
  for (int i = 0; i < 5; ++i) CHECK(g2[i] == Approx(2.0 * (i + 1)));
}
