// Nearest 2x upsampling: PyTorch fixture (interpolate, mode "nearest") and finite-difference gradients.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("upsample: output and gradient match PyTorch") {
  nlohmann::json fx = test::load_fixture("upsample");
  Tensor x = test::fixture_tensor(fx["x"]).set_requires_grad(true);
  Tensor y = upsample2x(x);
  CHECK(y.shape() == test::fixture_tensor(fx["y"]).shape());
  // A copy: exact. The gradient sums four float64-rounded values: within float rounding.
  CHECK(test::rel_error(y.to_vector(), test::fixture_values(fx["y"])) == 0);
  autograd::backward(y, test::fixture_tensor(fx["dy"]));
  CHECK(test::rel_error(x.grad().to_vector(), test::fixture_values(fx["dx"])) < 1e-6);
}

TEST_CASE("upsample: finite-difference gradients") {
  Tensor x = test::random_tensor({2, 3, 4, 5}, 7, -1.f, 1.f).set_requires_grad(true);
  test::check_gradients([](const std::vector<Tensor>& in) { return upsample2x(in[0]); }, {x}, {}, "upsample2x");
}

TEST_CASE("upsample: rejects what is not a 4-D map") {
  CHECK_THROWS_WITH(upsample2x(Tensor::zeros({2, 3, 4})), Catch::Contains("expected [N, C, H, W]"));
}
