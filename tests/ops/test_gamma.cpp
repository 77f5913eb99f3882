// Per-sample gamma transform (engine/ops.h gamma_transform): PyTorch fixture
// (tests/reference/torch_gamma.py), finite-difference gradient, bad shapes.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("gamma: transform and its gradient match PyTorch (zeros stay zero)") {
  nlohmann::json fx = test::load_fixture("gamma");
  Tensor x = test::fixture_tensor(fx["x"]).set_requires_grad(true);
  Tensor y = gamma_transform(x, test::fixture_tensor(fx["gamma"]));
  double e = test::rel_error(y.to_vector(), test::fixture_values(fx["y"]));
  INFO("y: rel error " << e);
  CHECK(e < 2e-6);
  autograd::backward(y, test::fixture_tensor(fx["dy"]));
  e = test::rel_error(x.grad().to_vector(), test::fixture_values(fx["dx"]));
  INFO("dx: rel error " << e);
  CHECK(e < 2e-5);
}

TEST_CASE("gamma: finite-difference gradient") {
  Tensor x = test::random_tensor({3, 2, 4, 5}, 1, 0.2f, 1.f).set_requires_grad(true);
  Tensor gamma = Tensor::from_vector({0.5f, 1.f, 1.5f}, {3});
  test::check_gradients([gamma](const std::vector<Tensor>& in) { return gamma_transform(in[0], gamma); }, {x}, {},
                        "gamma");
}

TEST_CASE("gamma: one exponent per sample is required") {
  Tensor img = Tensor::zeros({2, 1, 10, 16});
  CHECK_THROWS_WITH(gamma_transform(img, Tensor::zeros({3})), Catch::Contains("one exponent per sample"));
}
