// rank_normalize (engine/ops.h): PyTorch fixture (tests/reference/torch_rank.py, pairwise counts),
// the same counts on a larger input that takes the threaded path, unchanged by strictly increasing
// intensity maps, bounds and bad arguments. No gradient: the op is applied to data only.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/ops.h"
#include "support/fixtures.h"
#include "support/gradcheck.h"

using namespace im;

namespace {
// Values on a grid of 1/4096 (ties likely, every map below keeps their order exactly), with a
// background margin of zeros.
Tensor grid_slices(int64_t n, int64_t h, int64_t w, uint64_t seed) {
  std::vector<float> v = test::random_tensor({n, 1, h, w}, seed, 0.f, 1.f).to_vector();
  for (int64_t i = 0; i < static_cast<int64_t>(v.size()); ++i) {
    const int64_t y = (i / w) % h;
    v[i] = y < 2 ? 0.f : std::floor(v[i] * 4000.f + 40.f) / 4096.f;
  }
  return Tensor::from_vector(v, {n, 1, h, w});
}
}  // namespace

TEST_CASE("rank: mid-ranks of the foreground match PyTorch (ties, background, a lone value)") {
  nlohmann::json fx = test::load_fixture("rank");
  Tensor x = test::fixture_tensor(fx["x"]).set_requires_grad(true);
  Tensor y = rank_normalize(x, fx["threshold"].get<float>(), fx["lo"].get<float>());
  CHECK_FALSE(y.requires_grad());
  const std::vector<float> got = y.to_vector(), want = test::fixture_values(fx["y"]);
  REQUIRE(got.size() == want.size());
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(double(got[i]) - want[i]));
  INFO("largest difference " << worst);
  CHECK(worst < 1e-6);
}

TEST_CASE("rank: the counts hold on a large batch with ties (threaded path)") {
  Tensor x = grid_slices(6, 70, 90, 3);
  const std::vector<float> v = x.to_vector(), y = rank_normalize(x, 0.001f, 0.05f).to_vector();
  const int64_t per = 70 * 90;
  size_t wrong = 0;
  for (int64_t s = 0; s < 6; ++s) {
    int64_t m = 0;
    for (int64_t j = 0; j < per; ++j) m += v[s * per + j] >= 0.001f;
    for (int64_t i = 0; i < per; i += 37) {  // a sample of pixels, each against its whole slice
      const float a = v[s * per + i];
      if (a < 0.001f) {
        wrong += y[s * per + i] != 0.f;
        continue;
      }
      int64_t less = 0, equal = 0;
      for (int64_t j = 0; j < per; ++j) {
        const float b = v[s * per + j];
        less += b >= 0.001f && b < a;
        equal += b == a;
      }
      const double want = 0.05 + 0.95 * (2.0 * less + equal - 1) / (2.0 * (m - 1));
      wrong += std::abs(y[s * per + i] - want) > 1e-6;
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("rank: strictly increasing intensity maps leave the result unchanged, within its bounds") {
  Tensor x = grid_slices(3, 40, 50, 5);
  const std::vector<float> base = rank_normalize(x, 0.001f, 0.05f).to_vector();
  std::vector<float> v = x.to_vector(), g = v, h = v;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == 0.f) continue;
    g[i] = 0.01f + v[i] * v[i];                              // a gamma of 2, lifted above the threshold
    h[i] = 0.2f + 0.7f * std::pow(v[i], 0.6f);               // a brighter, flatter curve
  }
  CHECK(rank_normalize(Tensor::from_vector(g, x.shape()), 0.001f, 0.05f).to_vector() == base);
  CHECK(rank_normalize(Tensor::from_vector(h, x.shape()), 0.001f, 0.05f).to_vector() == base);
  const int64_t per = 40 * 50;
  for (int64_t s = 0; s < 3; ++s) {
    float lo = 2.f, hi = -1.f;
    for (int64_t i = 0; i < per; ++i) {
      const float r = base[s * per + i];
      if (v[s * per + i] == 0.f) {
        CHECK(r == 0.f);
      } else {
        lo = std::min(lo, r), hi = std::max(hi, r);
      }
    }
    CHECK(lo >= 0.05f);
    CHECK(lo < 0.051f);  // the darkest value (ties at the bottom share a mid-rank a little above)
    CHECK(hi > 0.999f);
    CHECK(hi <= 1.f);
  }
}

TEST_CASE("rank: bad arguments are refused") {
  CHECK_THROWS_WITH(rank_normalize(Tensor::zeros({2, 4}), 0.001f, 1.f), Catch::Contains("floor must be in [0, 1)"));
  CHECK_THROWS_WITH(rank_normalize(Tensor::zeros({0, 4}), 0.001f, 0.05f), Catch::Contains("N > 0"));
}
