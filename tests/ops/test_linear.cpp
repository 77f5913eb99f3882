// linear: PyTorch fixtures, finite-difference gradients, and the tiled CPU GEMM against a
// double-precision reference, identical for every thread count.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "kernels/check.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("linear: outputs and gradients match PyTorch, with and without bias") {
  nlohmann::json fx = test::load_fixture("linear");
  for (bool with_bias : {true, false}) {
    Tensor x = test::fixture_tensor(fx["x"]).set_requires_grad(true);
    Tensor w = test::fixture_tensor(fx["w"]).set_requires_grad(true);
    Tensor b = with_bias ? test::fixture_tensor(fx["b"]).set_requires_grad(true) : Tensor();
    const nlohmann::json& ref = fx[with_bias ? "with_bias" : "no_bias"];
    Tensor y = linear(x, w, b);
    INFO((with_bias ? "with bias" : "without bias"));
    CHECK(y.shape() == Shape{5, 4});
    CHECK(test::rel_error(y.to_vector(), test::fixture_values(ref["y"])) < 1e-6);
    autograd::backward(y, test::fixture_tensor(fx["dy"]));
    CHECK(test::rel_error(x.grad().to_vector(), test::fixture_values(ref["dx"])) < 1e-6);
    CHECK(test::rel_error(w.grad().to_vector(), test::fixture_values(ref["dw"])) < 1e-6);
    if (with_bias) CHECK(test::rel_error(b.grad().to_vector(), test::fixture_values(ref["db"])) < 1e-6);
  }
}

TEST_CASE("linear: finite-difference gradients") {
  Tensor x = test::random_tensor({6, 5}, 1).set_requires_grad(true);
  Tensor w = test::random_tensor({3, 5}, 2).set_requires_grad(true);
  Tensor b = test::random_tensor({3}, 3).set_requires_grad(true);
  test::check_gradients([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b}, {},
                        "with bias");
  test::check_gradients([](const std::vector<Tensor>& in) { return linear(in[0], in[1], Tensor()); }, {x, w}, {},
                        "without bias");
  Tensor xc = test::random_tensor({6, 5}, 4);  // input without gradient: only dw, db
  test::check_gradients([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {xc, w, b}, {},
                        "constant input");
}

namespace {
// Output and gradients against double-precision loops, and bitwise equal for 1, 2 and 3 threads.
void check_against_reference(int64_t N, int64_t in, int64_t out) {
  Tensor x = test::random_tensor({N, in}, 11);
  Tensor w = test::random_tensor({out, in}, 12);
  Tensor b = test::random_tensor({out}, 13);
  Tensor dy = test::random_tensor({N, out}, 14);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Tensor xg = x.detach().set_requires_grad(true);
    Tensor wg = w.detach().set_requires_grad(true);
    Tensor bg = b.detach().set_requires_grad(true);
    Tensor y = linear(xg, wg, bg);
    std::vector<float> r = y.to_vector();
    autograd::backward(y, dy);
    for (const Tensor& g : {xg.grad(), wg.grad(), bg.grad()}) {
      std::vector<float> v = g.to_vector();
      r.insert(r.end(), v.begin(), v.end());
    }
    return r;
  };
  const int n = num_threads();
  std::vector<float> r1 = run(1), r2 = run(2), r3 = run(3);
  set_num_threads(n);
  CHECK(r1 == r2);
  CHECK(r1 == r3);

  std::vector<float> xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector(), dv = dy.to_vector();
  std::vector<float> y(N * out), dx(N * in), dw(out * in), db(out);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t o = 0; o < out; ++o) {
      double s = bv[o];
      for (int64_t k = 0; k < in; ++k) s += static_cast<double>(xv[i * in + k]) * wv[o * in + k];
      y[i * out + o] = static_cast<float>(s);
    }
  for (int64_t i = 0; i < N; ++i)
    for (int64_t k = 0; k < in; ++k) {
      double s = 0;
      for (int64_t o = 0; o < out; ++o) s += static_cast<double>(dv[i * out + o]) * wv[o * in + k];
      dx[i * in + k] = static_cast<float>(s);
    }
  for (int64_t o = 0; o < out; ++o) {
    double sb = 0;
    for (int64_t i = 0; i < N; ++i) sb += dv[i * out + o];
    db[o] = static_cast<float>(sb);
    for (int64_t k = 0; k < in; ++k) {
      double s = 0;
      for (int64_t i = 0; i < N; ++i) s += static_cast<double>(dv[i * out + o]) * xv[i * in + k];
      dw[o * in + k] = static_cast<float>(s);
    }
  }
  size_t at = 0;
  for (const std::vector<float>* ref : {&y, &dx, &dw, &db}) {
    std::vector<float> got(r1.begin() + at, r1.begin() + at + ref->size());
    at += ref->size();
    CHECK(test::rel_error(got, *ref) < 1e-5);
  }
}
}  // namespace

TEST_CASE("linear: CPU products match a double reference and do not depend on the thread count") {
  SECTION("several tiles in every direction (tiles are 128 x 256), parallel") { check_against_reference(300, 70, 530); }
  SECTION("one mid-sized tile, serial Eigen GEMM") { check_against_reference(64, 40, 50); }
  SECTION("small, serial") { check_against_reference(3, 4, 5); }
}

TEST_CASE("linear: shape mismatches are rejected") {
  CHECK_THROWS_AS(linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 5}), Tensor()), Error);
  CHECK_THROWS_AS(linear(Tensor::zeros({2, 3}), Tensor::zeros({4, 3}), Tensor::zeros({3})), Error);
  CHECK_THROWS_AS(linear(Tensor::zeros({2, 3, 1}), Tensor::zeros({4, 3}), Tensor()), Error);
}
