// CPU vs CUDA: rank_normalize, bit for bit, on slices with ties and background, at a model size and
// at sizes that are not multiples of the CUDA tile, and over more samples than one launch takes.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/ops.h"
#include "support/gradcheck.h"

using namespace im;

TEST_CASE("parity: rank_normalize") {
  // 70 000 samples: more than one launch of 65 535 grid rows.
  for (const Shape& s : {Shape{16, 1, 96, 112}, Shape{3, 1, 17, 29}, Shape{1, 1, 1, 1}, Shape{70000, 3}}) {
    std::vector<float> v = test::random_tensor(s, 4, -0.2f, 1.f).to_vector();
    for (float& a : v) a = a < 0.f ? 0.f : std::floor(a * 3000.f) / 4096.f;  // background and ties
    Tensor x = Tensor::from_vector(v, s);
    const std::vector<float> cpu = rank_normalize(x, 0.001f, 0.05f).to_vector();
    const std::vector<float> gpu = rank_normalize(x.to(Device::CUDA), 0.001f, 0.05f).to_vector();
    INFO(s.str());
    CHECK(gpu == cpu);
  }
}
