// where and masked_select: PyTorch fixtures, finite-difference gradients, empty and full masks,
// and the chunked compaction on a mask longer than one chunk.
#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "kernels/check.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("where: where and masked_select match PyTorch") {
  nlohmann::json fx = test::load_fixture("where");
  const nlohmann::json& w = fx["where"];
  Tensor mask = test::fixture_tensor(w["mask"]);
  Tensor a = test::fixture_tensor(w["a"]).set_requires_grad(true);
  Tensor b = test::fixture_tensor(w["b"]).set_requires_grad(true);
  Tensor y = where(mask, a, b);
  CHECK(test::rel_error(y.to_vector(), test::fixture_values(w["y"])) == 0);
  autograd::backward(y, test::fixture_tensor(w["dy"]));
  CHECK(test::rel_error(a.grad().to_vector(), test::fixture_values(w["da"])) == 0);
  CHECK(test::rel_error(b.grad().to_vector(), test::fixture_values(w["db"])) == 0);

  const nlohmann::json& m = fx["masked_select"];
  Tensor x = test::fixture_tensor(w["a"]).set_requires_grad(true);
  Tensor s = masked_select(x, mask);
  CHECK(s.shape() == test::fixture_tensor(m["y"]).shape());
  CHECK(test::rel_error(s.to_vector(), test::fixture_values(m["y"])) == 0);
  autograd::backward(s, test::fixture_tensor(m["dy"]));
  CHECK(test::rel_error(x.grad().to_vector(), test::fixture_values(m["dx"])) == 0);
}

TEST_CASE("where: finite-difference gradients") {
  Tensor mask = test::random_mask({2, 3, 4}, 1, 0.5f);
  Tensor a = test::random_tensor({2, 3, 4}, 2).set_requires_grad(true);
  Tensor b = test::random_tensor({2, 3, 4}, 3).set_requires_grad(true);
  test::check_gradients([&](const std::vector<Tensor>& in) { return where(mask, in[0], in[1]); }, {a, b}, {}, "where");
  test::check_gradients([&](const std::vector<Tensor>& in) { return masked_select(in[0], mask); }, {a}, {},
                        "masked_select");
}

TEST_CASE("where: masked_select with empty, full and long masks") {
  Tensor x = test::random_tensor({3, 5}, 4).set_requires_grad(true);
  Tensor none = masked_select(x, Tensor::zeros({3, 5}));
  CHECK(none.shape() == Shape{0});
  Tensor all = masked_select(x, Tensor::full({3, 5}, 1.f));
  CHECK(all.to_vector() == x.to_vector());

  // Several compaction chunks: compare with a serial selection.
  const Shape s{5, 7000};
  Tensor big = test::random_tensor(s, 5);
  Tensor mask = test::random_mask(s, 6, 0.3f);
  std::vector<float> bv = big.to_vector(), mv = mask.to_vector(), want;
  for (size_t i = 0; i < bv.size(); ++i)
    if (mv[i] != 0.f) want.push_back(bv[i]);
  CHECK(masked_select(big, mask).to_vector() == want);

  CHECK_THROWS_AS(masked_select(x, Tensor::zeros({5, 3})), Error);
  CHECK_THROWS_AS(where(Tensor::zeros({3, 5}), x, Tensor::zeros({15})), Error);
}
