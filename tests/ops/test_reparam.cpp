// Reparameterization trick (engine/ops.h reparameterize): the noise is kernels/philox.h's normals
// (no PyTorch fixture: PyTorch would draw other numbers), the formula, the offset taken per call,
// and finite-difference gradients in mu and logvar.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/ops.h"
#include "kernels/philox.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("reparam: draws kernels/philox.h's normals and returns mu + eps * exp(logvar / 2)") {
  Tensor mu = test::random_tensor({2, 3, 5, 7}, 4, -2.f, 2.f);
  Tensor lv = test::random_tensor({2, 3, 5, 7}, 5, -3.f, 1.f);
  Generator gen(1234, 17);
  Tensor eps;
  Tensor z = reparameterize(mu, lv, gen, &eps);
  CHECK(gen.offset == 18u);  // one draw per call
  REQUIRE(eps.defined());
  std::vector<float> e = eps.to_vector(), zv = z.to_vector(), m = mu.to_vector(), l = lv.to_vector();
  for (size_t i = 0; i < e.size(); ++i) {
    CHECK(e[i] == philox::normal(1234, 17, i));
    double expect = m[i] + static_cast<double>(e[i]) * std::exp(0.5 * l[i]);
    CHECK(std::fabs(zv[i] - expect) <= 1e-6 * (1 + std::fabs(expect)));
  }
  Tensor eps2;
  reparameterize(mu, lv, gen, &eps2);
  CHECK(eps2.to_vector() != e);  // the next call takes the next offset
}

TEST_CASE("reparam: finite-difference gradients (fixed generator)") {
  Tensor mu = test::random_tensor({2, 3, 4, 4}, 2, -1.f, 1.f).set_requires_grad(true);
  Tensor lv = test::random_tensor({2, 3, 4, 4}, 3, -2.f, 1.f).set_requires_grad(true);
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        Generator g(42, 3);  // the same noise at every evaluation
        return reparameterize(in[0], in[1], g);
      },
      {mu, lv}, {}, "reparameterize");
}
