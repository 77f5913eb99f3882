// Segmentation scores: Dice and volumes on masks with known overlap, surface distances against a
// brute-force search over surface voxels.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "eval/segmentation.h"
#include "io/error.h"

using namespace im;

namespace {
io::Mask box(const io::Dims& d, int64_t x0, int64_t x1, int64_t y0, int64_t y1, int64_t z0, int64_t z1) {
  io::Mask m(static_cast<size_t>(d[0] * d[1] * d[2]), 0);
  for (int64_t z = z0; z < z1; ++z)
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = x0; x < x1; ++x) m[x + d[0] * (y + d[1] * z)] = 1;
  return m;
}

// A random blob: a few random balls.
io::Mask blob(const io::Dims& d, unsigned seed) {
  std::mt19937 g(seed);
  io::Mask m(static_cast<size_t>(d[0] * d[1] * d[2]), 0);
  for (int b = 0; b < 4; ++b) {
    const double cx = 5 + g() % 10, cy = 5 + g() % 8, cz = 4 + g() % 8, r = 2 + g() % 3;
    for (int64_t z = 0; z < d[2]; ++z)
      for (int64_t y = 0; y < d[1]; ++y)
        for (int64_t x = 0; x < d[0]; ++x)
          if ((x - cx) * (x - cx) + (y - cy) * (y - cy) + (z - cz) * (z - cz) <= r * r) m[x + d[0] * (y + d[1] * z)] = 1;
  }
  return m;
}
}  // namespace

TEST_CASE("segmentation: Dice and volume difference of two boxes with a known overlap") {
  const io::Dims d{40, 40, 40};
  const io::Mask a = box(d, 10, 30, 10, 30, 10, 30), b = box(d, 13, 33, 10, 30, 10, 30);
  CHECK(eval::dice(a, b) == Approx(2.0 * 17 * 400 / 16000));
  CHECK(eval::dice(a, a) == 1.0);
  const io::Mask c = box(d, 10, 30, 10, 30, 10, 20);  // half of a
  const eval::SegmentationScores s = eval::compare_masks(c, a, d, {2, 2, 2});
  CHECK(s.volume_ml == Approx(4000 * 8 / 1000.0));
  CHECK(s.truth_ml == Approx(8000 * 8 / 1000.0));
  CHECK(s.volume_diff_pct == Approx(-50));
  CHECK(s.dice == Approx(2.0 / 3));
  const eval::SegmentationScores same = eval::compare_masks(a, a, d, {1, 1, 1});
  CHECK(same.hd95_mm == 0.0);
  CHECK(same.mean_surface_mm == 0.0);
  CHECK_THROWS_AS(eval::compare_masks(io::Mask(a.size(), 0), a, d, {1, 1, 1}), io::Error);
}

TEST_CASE("segmentation: surface distances equal a brute-force search, anisotropic voxels") {
  const io::Dims d{20, 18, 16};
  const io::Vec3 vox{1.0, 1.5, 2.5};
  for (unsigned seed : {1u, 2u, 3u}) {
    const io::Mask a = blob(d, seed), b = blob(d, seed + 10);
    const io::Mask sa = eval::mask_surface(a, d), sb = eval::mask_surface(b, d);
    const std::vector<double> got = eval::surface_distances(a, b, d, vox);
    size_t k = 0;
    for (int64_t i = 0; i < static_cast<int64_t>(a.size()); ++i) {
      if (!sa[i]) continue;
      double best = std::numeric_limits<double>::infinity();
      const int64_t x = i % d[0], y = i / d[0] % d[1], z = i / (d[0] * d[1]);
      for (int64_t j = 0; j < static_cast<int64_t>(b.size()); ++j) {
        if (!sb[j]) continue;
        const double dx = (x - j % d[0]) * vox[0], dy = (y - j / d[0] % d[1]) * vox[1], dz = (z - j / (d[0] * d[1])) * vox[2];
        best = std::min(best, std::sqrt(dx * dx + dy * dy + dz * dz));
      }
      REQUIRE(k < got.size());
      CHECK(got[k] == Approx(best).epsilon(1e-5));
      ++k;
    }
    CHECK(k == got.size());
  }
}

TEST_CASE("segmentation: a surface voxel is inside with a face neighbour outside or on the grid's edge") {
  const io::Dims d{7, 7, 7};
  const io::Mask s = eval::mask_surface(box(d, 1, 6, 1, 6, 1, 6), d);
  int64_t n = 0;
  for (uint8_t v : s) n += v;
  CHECK(n == 125 - 27);  // a 5^3 cube minus its 3^3 interior
  const io::Mask full(343, 1);
  int64_t edge = 0;
  for (uint8_t v : eval::mask_surface(full, d)) edge += v;
  CHECK(edge == 343 - 125);
}
