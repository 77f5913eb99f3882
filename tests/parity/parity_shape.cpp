// CPU vs CUDA: concat and split along every dim with unequal sizes, reshape, flatten.
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("parity: concat and split") {
  const Shape base{4, 6, 8, 8};
  for (int dim = 0; dim < 4; ++dim) {
    std::vector<Tensor> parts;
    const int64_t sizes[3] = {1, base[dim] - 3, 2};
    for (int k = 0; k < 3; ++k) {
      Shape s = base;
      s[dim] = sizes[k];
      parts.push_back(test::random_tensor(s, 10 * dim + k).set_requires_grad(true));
    }
    const std::string d = " dim " + std::to_string(dim);
    test::check_parity([dim](const std::vector<Tensor>& in) { return concat(in, dim); }, parts, 1e-7, "concat" + d);
    Tensor x = test::random_tensor(base, 50 + dim).set_requires_grad(true);
    std::vector<int64_t> split_sizes(sizes, sizes + 3);
    for (int k = 0; k < 3; ++k)
      test::check_parity([dim, split_sizes, k](const std::vector<Tensor>& in) { return split(in[0], split_sizes, dim)[k]; },
                         {x}, 1e-7, "split piece " + std::to_string(k) + d);
  }
  // The model's use: channels of NCHW feature maps.
  Tensor a = test::random_tensor({4, 16, 32, 32}, 1).set_requires_grad(true);
  Tensor b = test::random_tensor({4, 8, 32, 32}, 2).set_requires_grad(true);
  test::check_parity([](const std::vector<Tensor>& in) { return concat(in, 1); }, {a, b}, 1e-7, "concat channels");
}

TEST_CASE("parity: reshape and flatten") {
  Tensor x = test::random_tensor({4, 8, 16, 16}, 3).set_requires_grad(true);
  test::check_parity([](const std::vector<Tensor>& in) { return reshape(in[0], {32, 256}); }, {x}, 1e-7, "reshape");
  test::check_parity([](const std::vector<Tensor>& in) { return flatten(in[0]); }, {x}, 1e-7, "flatten");
}
