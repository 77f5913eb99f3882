// ReLU, LeakyReLU, sigmoid: PyTorch fixtures and finite-difference gradient checks.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("activation: outputs and gradients match PyTorch") {
  nlohmann::json fx = test::load_fixture("activation");
  Tensor x0 = test::fixture_tensor(fx["x"]);
  Tensor dy = test::fixture_tensor(fx["dy"]);
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> f;
  };
  for (const Case& c : {Case{"relu", [](const Tensor& t) { return relu(t); }},
                        Case{"leaky_relu_0.3", [](const Tensor& t) { return leaky_relu(t, 0.3f); }},
                        Case{"sigmoid", [](const Tensor& t) { return sigmoid(t); }}}) {
    Tensor x = x0.detach();
    x.set_requires_grad(true);
    Tensor y = c.f(x);
    INFO(c.name);
    CHECK(test::rel_error(y.to_vector(), test::fixture_values(fx[c.name]["y"])) < 1e-6);
    autograd::backward(y, dy);
    CHECK(test::rel_error(x.grad().to_vector(), test::fixture_values(fx[c.name]["dx"])) < 1e-6);
  }
}

TEST_CASE("activation: finite-difference gradients") {
  Tensor x = test::random_tensor({2, 3, 4, 4}, 1, -2.f, 2.f).set_requires_grad(true);
  test::check_gradients([](const std::vector<Tensor>& in) { return relu(in[0]); }, {x}, {}, "relu");
  test::check_gradients([](const std::vector<Tensor>& in) { return leaky_relu(in[0], 0.3f); }, {x}, {}, "leaky_relu");
  test::check_gradients([](const std::vector<Tensor>& in) { return sigmoid(in[0]); }, {x}, {}, "sigmoid");
}
