// The brain-mask U-Net: shapes, input-size errors, and forward, batch-norm statistics and every
// gradient against an independent PyTorch implementation (tests/reference/torch_brainmask.py).
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/autograd.h"
#include "kernels/check.h"
#include "model/brainmask.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;
using namespace im::model;

namespace {
// The network with the fixture's weights.
std::unique_ptr<BrainMaskNet> fixture_net(const nlohmann::json& fx) {
  auto net = std::make_unique<BrainMaskNet>(fx["config"].get<BrainMaskConfig>(), Device::CPU, 1);
  test::load_fixture_weights(fx["weights"], net->state());
  return net;
}
}  // namespace

TEST_CASE("brainmask net: a logit per pixel of the three middle slices of five, any multiple of 8") {
  BrainMaskNet net(BrainMaskConfig{}, Device::CPU, 1);
  NoGrad ng;
  Tensor x = test::random_tensor({2, 5, 96, 128}, 1, 0.f, 1.f);
  CHECK(net.forward(x, false, false).shape() == Shape{2, 3, 96, 128});
  CHECK(net.forward(test::random_tensor({1, 5, 40, 24}, 2, 0.f, 1.f), false, false).shape() == Shape{1, 3, 40, 24});
}

TEST_CASE("brainmask net: a slice side that is not a multiple of the size multiple is refused clearly") {
  BrainMaskNet net(BrainMaskConfig{}, Device::CPU, 1);
  NoGrad ng;
  try {
    net.forward(test::random_tensor({1, 5, 60, 64}, 1), false, false);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("multiples of 8") != std::string::npos);
  }
  BrainMaskConfig bad;
  bad.widths = {8};
  CHECK_THROWS_AS(BrainMaskNet(bad, Device::CPU, 1), Error);
  BrainMaskConfig wide;
  wide.out_context = 3;  // more output slices than input slices
  CHECK_THROWS_AS(BrainMaskNet(wide, Device::CPU, 1), Error);
}

TEST_CASE("brainmask net: inference and training forward match PyTorch, with the running statistics") {
  nlohmann::json fx = test::load_fixture("brainmask");
  auto net = fixture_net(fx);
  const Tensor x = test::fixture_tensor(fx["input"]);
  NoGrad ng;
  CHECK(test::rel_error(net->forward(x, false, false).to_vector(), test::fixture_values(fx["out_eval"])) < 1e-5);
  CHECK(test::rel_error(net->forward(x, true, true).to_vector(), test::fixture_values(fx["out_train"])) < 1e-5);
  int checked = 0;
  for (auto& [name, t] : net->buffers()) {
    INFO(name);
    CHECK(test::rel_error(t->to_vector(), test::fixture_values(fx["running_after"][name])) < 1e-5);
    ++checked;
  }
  CHECK(checked == static_cast<int>(fx["running_after"].size()));
}

TEST_CASE("brainmask net: every parameter gradient matches PyTorch") {
  nlohmann::json fx = test::load_fixture("brainmask");
  auto net = fixture_net(fx);
  net->params.zero_grad();
  Tensor out = net->forward(test::fixture_tensor(fx["input"]), true, true);
  autograd::backward(out, test::fixture_tensor(fx["out_weights"]));
  int checked = 0;
  for (const ParamGroup::Entry& e : net->params.entries()) {
    INFO(e.name);
    REQUIRE(fx["grads"].contains(e.name));
    CHECK(test::rel_error(e.param.grad().to_vector(), test::fixture_values(fx["grads"][e.name])) < 1e-4);
    ++checked;
  }
  CHECK(checked == static_cast<int>(fx["grads"].size()));
}

TEST_CASE("brainmask net: the config round-trips through JSON and refuses unknown keys") {
  BrainMaskConfig c;
  c.widths = {4, 8, 16};
  c.context = 3;
  c.out_context = 2;
  const BrainMaskConfig back = nlohmann::json(c).get<BrainMaskConfig>();
  CHECK(back.widths == c.widths);
  CHECK(back.context == 3);
  CHECK(back.in_channels() == 7);
  CHECK(back.out_channels() == 5);
  CHECK(back.size_multiple() == 4);
  CHECK_THROWS_AS(nlohmann::json({{"widht", {4, 8}}}).get<BrainMaskConfig>(), Error);
}
