// CPU vs CUDA: greater_equal, bit for bit, with values exactly at the threshold and on both sides.
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("parity: greater_equal") {
  for (const Shape& s : {Shape{4, 1, 33, 17}, Shape{1}, Shape{3, 100003}}) {
    Tensor x = test::random_tensor(s, 8, -1.f, 1.f);
    std::vector<float> v = x.to_vector();
    for (size_t i = 0; i < v.size(); i += 7) v[i] = 0.25f;  // exactly the threshold: 1 on both devices
    x = Tensor::from_vector(v, s);
    const std::vector<float> cpu = greater_equal(x, 0.25f).to_vector();
    const std::vector<float> gpu = greater_equal(x.to(Device::CUDA), 0.25f).to_vector();
    INFO(s.str());
    CHECK(gpu == cpu);
    CHECK(cpu[0] == 1.f);
  }
}
