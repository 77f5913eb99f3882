// CPU vs CUDA: the per-sample gamma transform, forward and backward, at a small odd shape (scalar
// tails) and at the model's batches (16 x 128x128 and 16 x 192x224).
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("parity: gamma transform") {
  for (Shape s : {Shape{3, 1, 5, 7}, Shape{16, 1, 128, 128}, Shape{16, 1, 192, 224}}) {
    Tensor x = test::random_tensor(s, 1, 0.f, 1.f).set_requires_grad(true);
    Tensor gamma = test::random_tensor({s[0]}, 2, 0.5f, 1.5f);
    test::check_parity([](const std::vector<Tensor>& in) { return gamma_transform(in[0], in[1]); }, {x, gamma}, 1e-4,
                       "gamma " + s.str());
  }
}
