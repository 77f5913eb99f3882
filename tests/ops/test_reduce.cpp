// sum / mean: PyTorch fixtures over every dimension range, finite-difference gradients (keepdim or
// not), the chunked and column paths against double references, and thread-count independence.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "kernels/check.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("reduce: sum and mean over every dimension range match PyTorch") {
  nlohmann::json fx = test::load_fixture("reduce");
  for (int begin = 0; begin < 4; ++begin)
    for (int end = begin + 1; end <= 4; ++end)
      for (bool is_mean : {false, true})
        for (bool keepdim : {false, true}) {
          const std::string key = std::string(is_mean ? "mean_" : "sum_") + std::to_string(begin) + "_" + std::to_string(end);
          INFO(key << (keepdim ? " keepdim" : ""));
          const nlohmann::json& ref = fx[key];
          Tensor x = test::fixture_tensor(fx["x"]).set_requires_grad(true);
          Tensor y = is_mean ? mean(x, begin, end, keepdim) : sum(x, begin, end, keepdim);
          Shape want = test::fixture_tensor(ref["y"]).shape();
          if (keepdim) {
            want = Shape{};
            for (int i = 0; i < 4; ++i) want.d[want.nd++] = (i >= begin && i < end) ? 1 : x.size(i);
          }
          CHECK(y.shape() == want);
          CHECK(test::rel_error(y.to_vector(), test::fixture_values(ref["y"])) < 1e-6);
          autograd::backward(y, test::fixture_tensor(ref["dy"]).view(y.shape()));
          CHECK(test::rel_error(x.grad().to_vector(), test::fixture_values(ref["dx"])) < 1e-6);
        }
  for (bool is_mean : {false, true}) {
    const nlohmann::json& ref = fx[is_mean ? "mean_all" : "sum_all"];
    Tensor x = test::fixture_tensor(fx["x"]).set_requires_grad(true);
    Tensor y = is_mean ? mean(x) : sum(x);
    CHECK(y.shape() == Shape{1});
    CHECK(test::rel_error(y.to_vector(), test::fixture_values(ref["y"])) < 1e-6);
    autograd::backward(y, Tensor::full({1}, 0.7f));
    CHECK(test::rel_error(x.grad().to_vector(), test::fixture_values(ref["dx"])) < 1e-6);
  }
}

TEST_CASE("reduce: finite-difference gradients over every dimension range") {
  Tensor x = test::random_tensor({2, 3, 2, 4}, 1).set_requires_grad(true);
  for (int begin = 0; begin < 4; ++begin)
    for (int end = begin + 1; end <= 4; ++end)
      for (bool keepdim : {false, true}) {
        const std::string r = "[" + std::to_string(begin) + "," + std::to_string(end) + ")" + (keepdim ? " keepdim" : "");
        test::check_gradients([=](const std::vector<Tensor>& in) { return sum(in[0], begin, end, keepdim); }, {x}, {},
                              "sum " + r);
        test::check_gradients([=](const std::vector<Tensor>& in) { return mean(in[0], begin, end, keepdim); }, {x}, {},
                              "mean " + r);
      }
  test::check_gradients([](const std::vector<Tensor>& in) { return sum(in[0]); }, {x}, {}, "sum all");
  test::check_gradients([](const std::vector<Tensor>& in) { return mean(in[0]); }, {x}, {}, "mean all");
}

TEST_CASE("reduce: long rows and columns agree with double sums and do not depend on the thread count") {
  // sum over dim 1 of [3, 9000]: few rows longer than a chunk. sum over dim 0 of [700, 300]: columns.
  // sum of [64, 2, 2048] over all elements.
  Tensor rows = test::random_tensor({3, 9000}, 2);
  Tensor cols = test::random_tensor({700, 300}, 3);
  Tensor all = test::random_tensor({64, 2, 2048}, 4);
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<float> r = sum(rows, 1, 2, false).to_vector();
    std::vector<float> c = sum(cols, 0, 1, false).to_vector();
    r.insert(r.end(), c.begin(), c.end());
    r.push_back(mean(all).item());
    return r;
  };
  const int n = num_threads();
  std::vector<float> r1 = run(1), r2 = run(2), r3 = run(3);
  set_num_threads(n);
  CHECK(r1 == r2);
  CHECK(r1 == r3);
  std::vector<float> rv = rows.to_vector(), cv = cols.to_vector(), av = all.to_vector();
  for (int o = 0; o < 3; ++o) {
    double s = 0;
    for (int r = 0; r < 9000; ++r) s += rv[o * 9000 + r];
    CHECK(r1[o] == Approx(s).margin(1e-5));
  }
  for (int i = 0; i < 300; i += 37) {
    double s = 0;
    for (int r = 0; r < 700; ++r) s += cv[r * 300 + i];
    CHECK(r1[3 + i] == Approx(s).margin(1e-5));
  }
  double s = 0;
  for (float v : av) s += v;
  CHECK(r1.back() == Approx(s / av.size()).margin(1e-7));
}

TEST_CASE("reduce: invalid ranges are rejected") {
  Tensor x = Tensor::zeros({2, 3});
  CHECK_THROWS_AS(sum(x, 1, 1, false), Error);
  CHECK_THROWS_AS(sum(x, 0, 3, false), Error);
  CHECK_THROWS_AS(mean(x, -1, 1, false), Error);
  CHECK(sum(x, 0, 2, false).shape() == Shape{1});
  CHECK(sum(x, 0, 2, true).shape() == Shape{1, 1});
}
