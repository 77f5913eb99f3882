// CPU vs CUDA: where and masked_select (the compaction spans many tiles and scan segments).
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("parity: where") {
  const Shape s{4, 8, 33, 17};
  Tensor mask = test::random_mask(s, 1, 0.4f);
  Tensor a = test::random_tensor(s, 2).set_requires_grad(true);
  Tensor b = test::random_tensor(s, 3).set_requires_grad(true);
  test::check_parity([](const std::vector<Tensor>& in) { return where(in[0], in[1], in[2]); }, {mask, a, b}, 1e-7, "where");
}

TEST_CASE("parity: masked_select") {
  for (const Shape& s : {Shape{3, 1000, 1000}, Shape{5, 7}, Shape{1025}}) {
    Tensor mask = test::random_mask(s, 4, 0.3f);
    Tensor x = test::random_tensor(s, 5).set_requires_grad(true);
    test::check_parity([](const std::vector<Tensor>& in) { return masked_select(in[0], in[1]); }, {x, mask}, 1e-7,
                       "masked_select " + s.str());
  }
  Tensor x = test::random_tensor({64, 64}, 6).set_requires_grad(true);
  Tensor none = Tensor::zeros({64, 64});
  test::check_parity([](const std::vector<Tensor>& in) { return add_scalar(masked_select(in[0], in[1]), 1.f); }, {x, none},
                     1e-7, "masked_select, empty mask");
}
