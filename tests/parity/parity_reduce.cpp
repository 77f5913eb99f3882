// CPU vs CUDA: sum and mean over every dimension range and over all elements, through each kernel
// path (warp per row, block slices with partials, columns with and without partials).
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("parity: sum and mean over every dimension range") {
  Tensor x = test::random_tensor({8, 16, 32, 32}, 1).set_requires_grad(true);
  for (int begin = 0; begin < 4; ++begin)
    for (int end = begin + 1; end <= 4; ++end) {
      const std::string r = " [" + std::to_string(begin) + "," + std::to_string(end) + ")";
      test::check_parity([=](const std::vector<Tensor>& in) { return sum(in[0], begin, end, false); }, {x}, 1e-5, "sum" + r);
      test::check_parity([=](const std::vector<Tensor>& in) { return mean(in[0], begin, end, true); }, {x}, 1e-5, "mean" + r);
    }
}

TEST_CASE("parity: reduction kernel paths") {
  Tensor big = test::random_tensor({1 << 22}, 2).set_requires_grad(true);
  test::check_parity([](const std::vector<Tensor>& in) { return sum(in[0]); }, {big}, 1e-5, "sum of 4M elements");
  test::check_parity([](const std::vector<Tensor>& in) { return mean(in[0]); }, {big}, 1e-5, "mean of 4M elements");
  Tensor rows = test::random_tensor({2048, 100}, 3).set_requires_grad(true);
  test::check_parity([](const std::vector<Tensor>& in) { return sum(in[0], 1, 2, false); }, {rows}, 1e-5, "many rows");
  Tensor cols = test::random_tensor({4096, 3}, 4).set_requires_grad(true);
  test::check_parity([](const std::vector<Tensor>& in) { return sum(in[0], 0, 1, false); }, {cols}, 1e-5,
                     "few long columns");
  Tensor wide = test::random_tensor({4, 70000}, 5).set_requires_grad(true);
  test::check_parity([](const std::vector<Tensor>& in) { return mean(in[0], 0, 1, true); }, {wide}, 1e-5, "wide columns");
  Tensor tiny = test::random_tensor({3}, 6).set_requires_grad(true);
  test::check_parity([](const std::vector<Tensor>& in) { return sum(in[0]); }, {tiny}, 1e-6, "three elements");
}
