// CPU vs CUDA: broadcast add/sub/mul over the kernels' paths (flat, general broadcast, and the
// reducing backward: elementwise, one thread per element, blocks with and without partials).
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("parity: broadcast add/sub/mul") {
  struct Case {
    Shape a, b;
  };
  const Case cases[] = {
      {{16, 32, 64, 64}, {32, 1, 1}},     // per-channel: block partials over 131072 positions
      {{8, 64, 32, 32}, {1}},             // scalar-like: one element summed over 524288 positions
      {{1}, {8, 3}},                      // scalar-like first operand
      {{2, 1, 4, 1}, {1, 3, 1, 5}},       // both broadcast, few positions: one thread per element
      {{4, 8, 16, 16}, {4, 8, 16, 16}},   // same shape: flat kernel
      {{8, 10000}, {10000}},              // many elements, few positions each
      {{16, 8, 1, 1}, {16, 8, 32, 32}},   // per-sample per-channel: one block per element
      {{2, 1, 3, 1, 2}, {2, 3, 1, 2}},    // five dimensions
  };
  uint64_t seed = 1;
  for (const Case& c : cases) {
    Tensor a = test::random_tensor(c.a, seed++, -2.f, 2.f).set_requires_grad(true);
    Tensor b = test::random_tensor(c.b, seed++, -2.f, 2.f).set_requires_grad(true);
    const std::string s = " " + a.shape().str() + " " + b.shape().str();
    test::check_parity([](const std::vector<Tensor>& in) { return add(in[0], in[1]); }, {a, b}, 1e-5, "add" + s);
    test::check_parity([](const std::vector<Tensor>& in) { return sub(in[0], in[1]); }, {a, b}, 1e-5, "sub" + s);
    test::check_parity([](const std::vector<Tensor>& in) { return mul(in[0], in[1]); }, {a, b}, 1e-5, "mul" + s);
  }
}

TEST_CASE("parity: add_scalar and mul_scalar") {
  Tensor x = test::random_tensor({4, 8, 16, 16}, 3).set_requires_grad(true);
  test::check_parity([](const std::vector<Tensor>& in) { return add_scalar(in[0], 0.5f); }, {x}, 1e-6, "add_scalar");
  test::check_parity([](const std::vector<Tensor>& in) { return mul_scalar(in[0], -3.f); }, {x}, 1e-6, "mul_scalar");
}
