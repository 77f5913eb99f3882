// add/sub/mul with broadcasting, add_scalar, mul_scalar: PyTorch fixtures, finite-difference
// gradients for every broadcast pattern, and thread-count independence of the reducing backward.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "kernels/check.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

namespace {
Tensor apply(const std::string& op, const Tensor& a, const Tensor& b) {
  if (op == "add") return add(a, b);
  if (op == "sub") return sub(a, b);
  return mul(a, b);
}
}  // namespace

TEST_CASE("binary: broadcast add/sub/mul match PyTorch") {
  nlohmann::json fx = test::load_fixture("binary");
  for (int k = 0; fx.contains("binary" + std::to_string(k)); ++k) {
    const nlohmann::json& c = fx["binary" + std::to_string(k)];
    const std::string op = c["op"].get<std::string>();
    Tensor a = test::fixture_tensor(c["a"]).set_requires_grad(true);
    Tensor b = test::fixture_tensor(c["b"]).set_requires_grad(true);
    Tensor y = apply(op, a, b);
    INFO("case " << k << ": " << op << " " << a.shape().str() << " " << b.shape().str());
    CHECK(y.shape() == test::fixture_tensor(c["y"]).shape());
    CHECK(test::rel_error(y.to_vector(), test::fixture_values(c["y"])) < 1e-6);
    autograd::backward(y, test::fixture_tensor(c["dy"]));
    CHECK(test::rel_error(a.grad().to_vector(), test::fixture_values(c["da"])) < 1e-6);
    CHECK(test::rel_error(b.grad().to_vector(), test::fixture_values(c["db"])) < 1e-6);
  }
}

TEST_CASE("binary: add_scalar and mul_scalar match PyTorch") {
  nlohmann::json fx = test::load_fixture("binary");
  Tensor dy = test::fixture_tensor(fx["dy"]);
  for (const char* name : {"add_scalar", "mul_scalar"}) {
    Tensor x = test::fixture_tensor(fx["x"]).set_requires_grad(true);
    Tensor y = std::string(name) == "add_scalar" ? add_scalar(x, 0.75f) : mul_scalar(x, -1.5f);
    INFO(name);
    CHECK(test::rel_error(y.to_vector(), test::fixture_values(fx[name]["y"])) < 1e-6);
    autograd::backward(y, dy);
    CHECK(test::rel_error(x.grad().to_vector(), test::fixture_values(fx[name]["dx"])) < 1e-6);
  }
}

TEST_CASE("binary: finite-difference gradients for every broadcast pattern") {
  struct Case {
    Shape a, b;
  };
  const Case cases[] = {
      {{2, 3, 4, 5}, {3, 1, 1}},        // per-channel, fewer dims
      {{2, 1, 4, 1}, {1, 3, 1, 5}},     // both operands broadcast
      {{2, 3, 4}, {1}},                 // scalar-like second operand
      {{1}, {2, 3}},                    // scalar-like first operand
      {{2, 3, 4, 5}, {2, 3, 4, 5}},     // same shape
      {{4, 1}, {2, 1, 3}},              // output larger than both
      {{2, 1, 3, 1, 2}, {2, 3, 1, 2}},  // five dimensions
      {{2, 3, 1, 1}, {2, 3, 4, 5}},     // per-sample, per-channel
  };
  uint64_t seed = 1;
  for (const Case& c : cases) {
    Tensor a = test::random_tensor(c.a, seed++, -2.f, 2.f).set_requires_grad(true);
    Tensor b = test::random_tensor(c.b, seed++, -2.f, 2.f).set_requires_grad(true);
    const std::string shapes = a.shape().str() + " " + b.shape().str();
    test::check_gradients([](const std::vector<Tensor>& in) { return add(in[0], in[1]); }, {a, b}, {}, "add " + shapes);
    test::check_gradients([](const std::vector<Tensor>& in) { return sub(in[0], in[1]); }, {a, b}, {}, "sub " + shapes);
    test::check_gradients([](const std::vector<Tensor>& in) { return mul(in[0], in[1]); }, {a, b}, {}, "mul " + shapes);
  }
}

TEST_CASE("binary: gradients when only one operand requires one, and for mul(a, a)") {
  Tensor a = test::random_tensor({3, 4}, 5).set_requires_grad(true);
  Tensor b = test::random_tensor({4}, 6);
  test::check_gradients([](const std::vector<Tensor>& in) { return mul(in[0], in[1]); }, {a, b}, {}, "mul, a only");
  test::check_gradients([](const std::vector<Tensor>& in) { return sub(in[1], in[0]); }, {a, b}, {}, "sub, b only");
  test::check_gradients([](const std::vector<Tensor>& in) { return mul(in[0], in[0]); }, {a}, {}, "mul(a, a)");
}

TEST_CASE("binary: finite-difference gradients of the scalar ops") {
  Tensor x = test::random_tensor({2, 3, 4}, 9).set_requires_grad(true);
  test::check_gradients([](const std::vector<Tensor>& in) { return add_scalar(in[0], -0.3f); }, {x}, {}, "add_scalar");
  test::check_gradients([](const std::vector<Tensor>& in) { return mul_scalar(in[0], 2.5f); }, {x}, {}, "mul_scalar");
}

TEST_CASE("binary: long broadcast sums (chunked path) are right and independent of the thread count") {
  // a [3] over [4500, 3]: each element of a sums 4500 > kReduceChunk positions split into chunks.
  Tensor a = test::random_tensor({3}, 21).set_requires_grad(true);
  Tensor b = test::random_tensor({4500, 3}, 22);
  test::check_gradients([](const std::vector<Tensor>& in) { return mul(in[1], in[0]); }, {a, b}, {}, "mul [4500,3]*[3]");

  Tensor big = test::random_tensor({64, 2, 1024}, 23);
  Tensor s = test::random_tensor({1}, 24).set_requires_grad(true);
  Tensor ch = test::random_tensor({2, 1}, 25).set_requires_grad(true);
  Tensor w = test::random_tensor({64, 2, 1024}, 26);
  auto grads = [&](int threads) {
    set_num_threads(threads);
    s.drop_grad();
    ch.drop_grad();
    Tensor y = add(mul(big, s), ch);
    autograd::backward(y, w);
    std::vector<float> g = s.grad().to_vector();
    std::vector<float> gc = ch.grad().to_vector();
    g.insert(g.end(), gc.begin(), gc.end());
    return g;
  };
  const int n = num_threads();
  std::vector<float> g1 = grads(1), g2 = grads(2), g3 = grads(3);
  set_num_threads(n);
  CHECK(g1 == g2);
  CHECK(g1 == g3);
  // Against a double-precision reference.
  std::vector<float> bv = big.to_vector(), wv = w.to_vector();
  double ref = 0;
  for (size_t i = 0; i < bv.size(); ++i) ref += static_cast<double>(bv[i]) * wv[i];
  CHECK(g1[0] == Approx(ref).epsilon(1e-5));
}

TEST_CASE("binary: shapes that do not broadcast are rejected") {
  Tensor a = Tensor::zeros({2, 3});
  Tensor b = Tensor::zeros({4});
  CHECK_THROWS_AS(add(a, b), Error);
  CHECK_THROWS_AS(mul(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 3})), Error);
}
