// Monotone intensity maps (io/intensity_map.h): a known curve is recovered from noisy voxel pairs,
// violations are pooled, zero stays zero, values above the fitted range continue the top slope,
// and too few voxels are an error.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "io/error.h"
#include "io/intensity_map.h"

using namespace im;

TEST_CASE("intensity map: recovers a monotone curve from noisy pairs", "[intensity_map]") {
  // to = curve(from) + noise, the curve a site-like S shape; the fit is the bin means made monotone.
  auto curve = [](double v) { return 0.8 * v + 0.15 * std::sin(3.0 * v); };
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0.05, 1.0);
  std::normal_distribution<double> noise(0.0, 0.02);
  const size_t n = 20000;
  std::vector<float> from(n), to(n);
  std::vector<uint8_t> mask(n, 1);
  for (size_t i = 0; i < n; ++i) {
    from[i] = static_cast<float>(u(rng));
    to[i] = static_cast<float>(curve(from[i]) + noise(rng));
  }
  const io::IntensityMap m = io::fit_monotone_map(from, to, mask);
  REQUIRE(m.x.size() >= 32);
  for (size_t k = 1; k < m.x.size(); ++k) {
    REQUIRE(m.x[k] > m.x[k - 1]);
    REQUIRE(m.y[k] >= m.y[k - 1]);
  }
  // Bin means of a curve with 1/64 of the range per bin: within the curve's change over a bin.
  for (double v = 0.1; v < 0.95; v += 0.05) CHECK(std::abs(m(v) - curve(v)) < 0.01);
  CHECK(m(0.0) == 0.0);  // zero stays zero
}

TEST_CASE("intensity map: decreasing stretches are pooled, the top continues, masked voxels are ignored", "[intensity_map]") {
  const size_t n = 4000;
  std::vector<float> from(n), to(n);
  std::vector<uint8_t> mask(n, 1);
  for (size_t i = 0; i < n; ++i) {
    from[i] = static_cast<float>(i + 1) / n;
    // Rises, then dips between 0.5 and 0.6: the fit must stay flat there, never fall.
    to[i] = from[i] < 0.5f || from[i] > 0.6f ? from[i] : 1.0f - from[i];
  }
  // Voxels outside the mask carry nonsense that must not matter.
  for (size_t i = 0; i < n; i += 7) to[i] = 5.f, mask[i] = 0;
  io::IntensityMapOptions o;
  o.bins = 40;
  const io::IntensityMap m = io::fit_monotone_map(from, to, mask, o);
  for (size_t k = 1; k < m.x.size(); ++k) REQUIRE(m.y[k] >= m.y[k - 1]);
  CHECK(m.y.back() < 1.01);
  CHECK(m(0.3) == Approx(0.3).margin(0.02));
  CHECK(m(0.9) == Approx(0.9).margin(0.02));
  // Above the last knot (about 0.99): the slope of the top tenth of the knots, about 1 here.
  CHECK(m(1.2) == Approx(1.2).margin(0.03));
  CHECK(m.top_slope == Approx(1.0).margin(0.05));
}

TEST_CASE("intensity map: too few voxels, mismatched sizes", "[intensity_map]") {
  std::vector<float> a(50, 0.5f), b(50, 0.5f);
  std::vector<uint8_t> mask(50, 1);
  CHECK_THROWS_WITH(io::fit_monotone_map(a, b, mask), Catch::Contains("only 50 voxels"));
  std::vector<float> c(49, 0.5f);
  CHECK_THROWS_AS(io::fit_monotone_map(a, c, mask), io::Error);
  const io::IntensityMap identity;
  CHECK(identity.identity());
  CHECK(identity(0.37) == 0.37);
}

TEST_CASE("intensity map: flat voxels leave out the edges", "[intensity_map]") {
  // Two flat halves with a step between x = 4 and x = 5: the step's voxels have the largest gradient.
  const int64_t dim[3] = {10, 6, 6};
  std::vector<float> v(360);
  std::vector<uint8_t> mask(360, 1);
  for (int64_t z = 0; z < 6; ++z)
    for (int64_t y = 0; y < 6; ++y)
      for (int64_t x = 0; x < 10; ++x) v[static_cast<size_t>(x + 10 * (y + 6 * z))] = x < 5 ? 0.2f : 0.8f;
  const std::vector<uint8_t> flat = io::flat_voxels(v, dim, mask, 0.7);
  int64_t kept = 0;
  for (int64_t i = 0; i < 360; ++i) {
    const int64_t x = i % 10;
    if (x == 4 || x == 5) REQUIRE(flat[static_cast<size_t>(i)] == 0);
    kept += flat[static_cast<size_t>(i)];
  }
  CHECK(kept == 288);  // everything off the step: 8 of 10 columns
  CHECK(io::flat_voxels(v, dim, mask, 1.0) == mask);
}

TEST_CASE("intensity map: quantiles interpolate between order statistics as numpy.quantile does", "[intensity_map]") {
  // Worked by hand: positions k * (n_values - 1) / (levels - 1) into the sorted values.
  const std::vector<double> q3 = io::quantiles({4.f, 1.f, 3.f, 2.f}, 3);
  REQUIRE(q3.size() == 3);
  CHECK(q3[0] == 1.0);
  CHECK(q3[1] == 2.5);
  CHECK(q3[2] == 4.0);
  const std::vector<double> q5 = io::quantiles({4.f, 1.f, 3.f, 2.f}, 5);
  const double want5[5] = {1.0, 1.75, 2.5, 3.25, 4.0};
  for (int k = 0; k < 5; ++k) CHECK(q5[k] == Approx(want5[k]).epsilon(1e-12));
  CHECK(io::quantiles({}, 5).empty());
  CHECK_THROWS_AS(io::quantiles({1.f}, 1), io::Error);
}

TEST_CASE("intensity map: a quantile map is histogram matching; equal source quantiles merge", "[intensity_map]") {
  // Source quantiles of U(0.1, 0.5), target of U(0.2, 0.9): the map is the line between them.
  std::vector<double> s, t;
  for (int k = 0; k <= 100; ++k) s.push_back(0.1 + 0.4 * k / 100.0), t.push_back(0.2 + 0.7 * k / 100.0);
  const io::IntensityMap m = io::quantile_map(s, t);
  for (double v : {0.1, 0.17, 0.3, 0.49, 0.5}) CHECK(m(v) == Approx(0.2 + 1.75 * (v - 0.1)).margin(1e-12));
  CHECK(m(0.6) == Approx(0.9 + 1.75 * 0.1).margin(1e-12));  // above: the overall slope
  CHECK(m(0.05) == Approx(0.1).margin(1e-12));               // below: towards (0, 0)
  CHECK(m(0.0) == 0.0);
  // Clipped data: a run of equal source quantiles is one knot at the mean of its targets.
  const io::IntensityMap c = io::quantile_map({0.2, 0.2, 0.2, 0.6}, {0.1, 0.2, 0.3, 0.8});
  REQUIRE(c.x.size() == 2);
  CHECK(c.x[0] == 0.2);
  CHECK(c.y[0] == Approx(0.2));
  CHECK_THROWS_AS(io::quantile_map({0.1, 0.2}, {0.1}), io::Error);
}

TEST_CASE("intensity map: a blend of two maps is their weighted mean everywhere", "[intensity_map]") {
  io::IntensityMap a, b, id;
  a.x = {0.2, 0.5, 0.8}, a.y = {0.1, 0.6, 0.7}, a.top_slope = 0.5;
  b.x = {0.3, 0.6}, b.y = {0.35, 0.9}, b.top_slope = 1.5;
  for (double w : {0.0, 0.3, 0.5, 1.0}) {
    const io::IntensityMap m = io::blend_maps(a, b, w), n = io::blend_maps(a, id, w);
    for (double v = 0.0; v <= 1.2; v += 0.01) {
      INFO("w " << w << " v " << v);
      CHECK(m(v) == Approx(w * a(v) + (1 - w) * b(v)).margin(1e-12));
      CHECK(n(v) == Approx(w * a(v) + (1 - w) * v).margin(1e-12));
    }
  }
  CHECK(io::blend_maps(id, id, 0.5).identity());
}
