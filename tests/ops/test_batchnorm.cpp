// batch_norm: PyTorch fixtures (outputs, gradients, running statistics for two momenta and two
// eps) in training and eval mode for [N, C, H, W] and [N, C], and finite-difference gradients.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "kernels/check.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("batch_norm: outputs, gradients and running statistics match PyTorch") {
  nlohmann::json fx = test::load_fixture("batchnorm");
  for (const char* layout : {"nchw", "nc"}) {
    const nlohmann::json& c = fx[layout];
    for (bool training : {true, false})
      for (float momentum : {0.1f, 0.01f})
        for (float eps : {1e-5f, 1e-3f}) {
          const std::string key = std::string(training ? "train" : "eval") + (momentum == 0.1f ? "_m0.1" : "_m0.01") +
                                  (eps == 1e-5f ? "_e1e-05" : "_e0.001");
          INFO(layout << " " << key);
          REQUIRE(c.contains(key));
          const nlohmann::json& ref = c[key];
          Tensor x = test::fixture_tensor(c["x"]).set_requires_grad(true);
          Tensor gamma = test::fixture_tensor(c["gamma"]).set_requires_grad(true);
          Tensor beta = test::fixture_tensor(c["beta"]).set_requires_grad(true);
          Tensor rm = test::fixture_tensor(c["running_mean"]);
          Tensor rv = test::fixture_tensor(c["running_var"]);
          Tensor y = batch_norm(x, gamma, beta, rm, rv, training, momentum, eps);
          CHECK(test::rel_error(y.to_vector(), test::fixture_values(ref["y"])) < 1e-5);
          CHECK(test::rel_error(rm.to_vector(), test::fixture_values(ref["running_mean"])) < 1e-6);
          CHECK(test::rel_error(rv.to_vector(), test::fixture_values(ref["running_var"])) < 1e-6);
          autograd::backward(y, test::fixture_tensor(c["dy"]));
          CHECK(test::rel_error(x.grad().to_vector(), test::fixture_values(ref["dx"])) < 1e-5);
          CHECK(test::rel_error(gamma.grad().to_vector(), test::fixture_values(ref["dgamma"])) < 1e-5);
          CHECK(test::rel_error(beta.grad().to_vector(), test::fixture_values(ref["dbeta"])) < 1e-5);
        }
  }
}

TEST_CASE("batch_norm: finite-difference gradients in training and eval mode") {
  struct Case {
    Shape shape;
    const char* name;
  };
  for (const Case& c : {Case{{3, 2, 3, 4}, "[N,C,H,W]"}, Case{{5, 3}, "[N,C]"}}) {
    const int64_t C = c.shape[1];
    Tensor x = test::random_tensor(c.shape, 1, -2.f, 2.f).set_requires_grad(true);
    Tensor gamma = test::random_tensor({C}, 2, 0.5f, 1.5f).set_requires_grad(true);
    Tensor beta = test::random_tensor({C}, 3).set_requires_grad(true);
    Tensor rm = test::random_tensor({C}, 4, -0.5f, 0.5f);
    Tensor rv = test::random_tensor({C}, 5, 0.5f, 2.f);
    for (bool training : {true, false}) {
      const std::string what = std::string(c.name) + (training ? " training" : " eval");
      test::check_gradients(
          [&](const std::vector<Tensor>& in) { return batch_norm(in[0], in[1], in[2], rm, rv, training, 0.1f, 1e-5f); },
          {x, gamma, beta}, {}, what);
      // Without affine parameters (gamma = 1, beta = 0).
      test::check_gradients(
          [&](const std::vector<Tensor>& in) { return batch_norm(in[0], Tensor(), Tensor(), rm, rv, training, 0.1f, 1e-5f); },
          {x}, {}, what + " without affine");
    }
  }
}

TEST_CASE("batch_norm: the training output is normalized per channel and running statistics follow PyTorch's rule") {
  Tensor x = test::random_tensor({4, 3, 5, 5}, 7, -3.f, 5.f);
  Tensor rm = Tensor::zeros({3}), rv = Tensor::full({3}, 1.f);
  Tensor y = batch_norm(x, Tensor(), Tensor(), rm, rv, true, 0.25f, 1e-5f);
  std::vector<float> xv = x.to_vector(), yv = y.to_vector(), rmv = rm.to_vector(), rvv = rv.to_vector();
  for (int c = 0; c < 3; ++c) {
    double s = 0, q = 0, xs = 0, xq = 0;
    const int M = 4 * 25;
    for (int n = 0; n < 4; ++n)
      for (int i = 0; i < 25; ++i) {
        double v = yv[(n * 3 + c) * 25 + i], u = xv[(n * 3 + c) * 25 + i];
        s += v;
        q += v * v;
        xs += u;
        xq += u * u;
      }
    CHECK(std::fabs(s / M) < 1e-5);
    CHECK(q / M == Approx(1.0).epsilon(1e-4));
    const double mean = xs / M, var_unbiased = (xq - M * mean * mean) / (M - 1);
    CHECK(rmv[c] == Approx(0.25 * mean).epsilon(1e-5));
    CHECK(rvv[c] == Approx(0.75 + 0.25 * var_unbiased).epsilon(1e-5));
  }
}

TEST_CASE("batch_norm: deterministic over thread counts and invalid inputs are rejected") {
  Tensor x = test::random_tensor({16, 4, 32, 32}, 9);
  auto run = [&](int threads) {
    set_num_threads(threads);
    Tensor rm = Tensor::zeros({4}), rv = Tensor::full({4}, 1.f);
    Tensor xg = x.detach().set_requires_grad(true);
    Tensor y = batch_norm(xg, Tensor(), Tensor(), rm, rv, true, 0.1f, 1e-5f);
    std::vector<float> r = y.to_vector();
    autograd::backward(y, x);
    std::vector<float> g = xg.grad().to_vector();
    r.insert(r.end(), g.begin(), g.end());
    for (float v : rv.to_vector()) r.push_back(v);
    return r;
  };
  const int n = num_threads();
  std::vector<float> r1 = run(1), r2 = run(2);
  set_num_threads(n);
  CHECK(r1 == r2);

  Tensor rm = Tensor::zeros({4}), rv = Tensor::full({4}, 1.f), none;
  CHECK_THROWS_AS(batch_norm(Tensor::zeros({2, 4, 3}), Tensor(), Tensor(), rm, rv, true, 0.1f, 1e-5f), Error);
  CHECK_THROWS_AS(batch_norm(Tensor::zeros({2, 3}), Tensor(), Tensor(), rm, rv, true, 0.1f, 1e-5f), Error);
  CHECK_THROWS_AS(batch_norm(Tensor::zeros({1, 4}), Tensor(), Tensor(), rm, rv, true, 0.1f, 1e-5f), Error);
  CHECK_THROWS_AS(batch_norm(Tensor::zeros({2, 4}), Tensor(), Tensor(), none, none, false, 0.1f, 1e-5f), Error);
}
