// The thick-slice restoration network: shapes, errors, near-identity start, the config's JSON, a
// finite-difference gradient check of its input, and output and every gradient against an independent PyTorch
// implementation (tests/reference/torch_thickslice.py).
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/autograd.h"
#include "kernels/check.h"
#include "model/thickslice.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;
using namespace im::model;

namespace {
std::unique_ptr<ThickSliceNet> fixture_net(const nlohmann::json& fx) {
  auto net = std::make_unique<ThickSliceNet>(fx["config"].get<ThickSliceConfig>(), Device::CPU, 1);
  test::load_fixture_weights(fx["weights"], net->state());
  return net;
}
}  // namespace

TEST_CASE("thickslice net: any plane size in, the same size out, close to the input before training") {
  ThickSliceNet net(ThickSliceConfig{}, Device::CPU, 1);
  NoGrad ng;
  const Tensor x = test::random_tensor({3, 1, 37, 52}, 1, 0.f, 1.f);
  const Tensor y = net.forward(x);
  REQUIRE(y.shape() == x.shape());
  // The last layer starts a hundred times smaller than He: the residual is small, not zero.
  const double rel = test::rel_error(y.to_vector(), x.to_vector());
  CHECK(rel > 0);
  CHECK(rel < 0.05);
}

TEST_CASE("thickslice net: a plane of more than one channel and a bad config are refused clearly") {
  ThickSliceNet net(ThickSliceConfig{}, Device::CPU, 1);
  NoGrad ng;
  try {
    net.forward(test::random_tensor({1, 2, 8, 8}, 1));
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("[N, 1, H, W]") != std::string::npos);
  }
  ThickSliceConfig bad;
  bad.layers = 1;
  CHECK_THROWS_AS(ThickSliceNet(bad, Device::CPU, 1), Error);
  CHECK_THROWS_AS(nlohmann::json({{"chanels", 8}}).get<ThickSliceConfig>(), Error);
  ThickSliceConfig c;
  c.channels = 8;
  c.layers = 4;
  c.voxel_mm = 1.5;
  const ThickSliceConfig back = nlohmann::json(c).get<ThickSliceConfig>();
  CHECK(back.channels == 8);
  CHECK(back.layers == 4);
  CHECK(back.voxel_mm == 1.5);
}

TEST_CASE("thickslice net: the gradient of its input matches central differences") {
  // Weight gradients are conv2d's, checked by central differences in tests/ops and against PyTorch
  // for this network below; here the whole residual stack, ReLU kinks included, for its input.
  ThickSliceConfig cfg;
  cfg.channels = 3;
  cfg.layers = 3;
  ThickSliceNet net(cfg, Device::CPU, 3);
  Tensor x = test::random_tensor({2, 1, 5, 6}, 2, 0.f, 1.f);
  x.set_requires_grad(true);
  test::check_gradients([&](const std::vector<Tensor>& in) { return net.forward(in[0]); }, {x}, {}, "thickslice input");
}

TEST_CASE("thickslice net: output and every parameter gradient match PyTorch") {
  const nlohmann::json fx = test::load_fixture("thickslice");
  auto net = fixture_net(fx);
  net->params.zero_grad();
  const Tensor out = net->forward(test::fixture_tensor(fx["input"]));
  CHECK(test::rel_error(out.to_vector(), test::fixture_values(fx["output"])) < 1e-5);
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
