// CPU vs CUDA: nearest 2x upsampling (forward and backward).
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("parity: upsample2x") {
  Tensor x = test::random_tensor({4, 16, 17, 9}, 5, -2.f, 2.f).set_requires_grad(true);
  test::check_parity([](const std::vector<Tensor>& in) { return upsample2x(in[0]); }, {x}, 1e-6, "upsample2x");
}
