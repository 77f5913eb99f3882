// greater_equal (engine/ops.h): the mask by its definition, values at the threshold included, on a
// long input that takes the threaded path; no gradient (masks are data).
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("compare: greater_equal is 1 where x >= threshold, else 0") {
  for (const Shape& s : {Shape{5}, Shape{3, 100003}}) {
    std::vector<float> v = test::random_tensor(s, 8, -1.f, 1.f).to_vector();
    for (size_t i = 0; i < v.size(); i += 7) v[i] = 0.25f;  // exactly the threshold
    Tensor x = Tensor::from_vector(v, s).set_requires_grad(true);
    Tensor y = greater_equal(x, 0.25f);
    CHECK(y.shape() == x.shape());
    CHECK_FALSE(y.requires_grad());
    const std::vector<float> m = y.to_vector();
    size_t wrong = 0;
    for (size_t i = 0; i < v.size(); ++i) wrong += m[i] != (v[i] >= 0.25f ? 1.f : 0.f);
    INFO(s.str());
    CHECK(wrong == 0);
    CHECK(m[0] == 1.f);
  }
}
