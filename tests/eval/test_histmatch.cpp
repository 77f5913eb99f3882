// Histogram matching (quantile mapping) and the 1-D Wasserstein distance, against values worked out by hand.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "eval/histmatch.h"
#include "io/error.h"

using namespace im::eval;

namespace {

std::vector<double> sample(size_t n, uint64_t seed, double (*f)(double)) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> v(n);
  for (double& x : v) x = f(u(rng));
  return v;
}

}  // namespace

TEST_CASE("histmatch: Wasserstein-1 matches hand-computed values (scipy.stats.wasserstein_distance)", "[histmatch]") {
  CHECK(wasserstein1({0.0, 1.0, 3.0}, {5.0, 6.0, 8.0}) == Approx(5.0));  // a shift moves every unit of mass by 5
  CHECK(wasserstein1({0.0, 1.0}, {0.0, 1.0}) == Approx(0.0).margin(1e-15));
  // scipy.stats.wasserstein_distance([0, 1, 3], [5, 6, 8]) = 5; ([0, 1], [0, 0, 1]) = 1/6;
  // ([3.4, 3.9, 7.5, 7.8], [4.5, 1.4]) = 2.7 (all three worked out from |F_a - F_b| by hand).
  CHECK(wasserstein1({0.0, 1.0}, {0.0, 0.0, 1.0}) == Approx(1.0 / 6));
  CHECK(wasserstein1({3.4, 3.9, 7.5, 7.8}, {4.5, 1.4}) == Approx(2.7));
  CHECK(wasserstein1({1.0, 2.0}, {3.0}) == Approx(wasserstein1({3.0}, {2.0, 1.0})));  // symmetric, order-free
  CHECK(std::isnan(wasserstein1({}, {1.0})));
}

TEST_CASE("histmatch: a monotone transform is undone, and the distance to the reference falls", "[histmatch]") {
  const std::vector<double> reference = sample(20000, 1, [](double u) { return 0.2 + 0.6 * u; });
  // The same distribution through a gamma and a scale, drawn independently.
  const std::vector<double> source = sample(30000, 2, [](double u) { return 0.5 * std::pow(0.2 + 0.6 * u, 1.8); });
  const HistogramMatch m = fit_histogram_match(source, reference);
  REQUIRE(m.source.size() == m.reference.size());
  for (size_t i = 1; i < m.source.size(); ++i) {
    CHECK(m.source[i] > m.source[i - 1]);
    CHECK(m.reference[i] >= m.reference[i - 1]);
  }
  // The map approximates the inverse transform x -> (x / 0.5)^(1/1.8).
  for (double y : {0.25, 0.4, 0.55, 0.7}) {
    const double x = 0.5 * std::pow(y, 1.8);
    CHECK(m.apply(x) == Approx(y).margin(0.01));
  }
  std::vector<double> matched = source;
  for (double& x : matched) x = m.apply(x);
  const double before = wasserstein1(source, reference), after = wasserstein1(matched, reference);
  INFO("W1 before " << before << ", after " << after);
  CHECK(after < 0.05 * before);
  CHECK(after < 0.01);
  // Background stays background; beyond the landmarks the map continues with the overall slope.
  CHECK(m.apply(0.0) == 0.0);
  CHECK(m.apply(-1.0) == -1.0);
  const double slope = (m.reference.back() - m.reference.front()) / (m.source.back() - m.source.front());
  CHECK(m.apply(m.source.back() + 0.1) == Approx(m.reference.back() + 0.1 * slope));
  CHECK(m.apply(m.source.front() / 2) == Approx(m.reference.front() / 2));
}

TEST_CASE("histmatch: ties (quantized or clipped data) give a function, and volumes are clipped to 0..1", "[histmatch]") {
  // Half the source sits at one value: its landmarks merge into one point at the mean of theirs.
  std::vector<double> source(1000, 0.3);
  for (int i = 0; i < 1000; ++i) source.push_back(0.5 + i * 1e-4);
  std::vector<double> reference;
  for (int i = 0; i < 2000; ++i) reference.push_back(i / 2000.0);
  const HistogramMatch m = fit_histogram_match(source, reference, {11});
  // Levels 0, 0.1, .., 0.4 all fall on 0.3 and merge; 0.5 falls between the tie and the rest (0.4);
  // 0.6 .. 1 above. The merged point takes the mean of its reference landmarks (q * 1999 / 2000).
  REQUIRE(m.source.size() == 7);
  CHECK(m.source[0] == 0.3);
  CHECK(m.source[1] == Approx(0.4));
  CHECK(m.reference[0] == Approx(0.2 * 1999.0 / 2000));
  im::io::Volume v = im::io::make_volume({4, 1, 1}, im::io::identity4());
  v.data = {0.f, 0.3f, 0.6f, 5.f};
  apply_histogram_match(v, m, 0.0, 1.0);
  CHECK(v.data[0] == 0.f);
  CHECK(v.data[1] == Approx(m.reference[0]));
  CHECK(v.data[3] == 1.f);  // far beyond the last landmark: clipped
  CHECK_THROWS_AS(fit_histogram_match({}, reference), im::io::Error);
  im::io::Mask mask = {1, 0, 1, 0};
  CHECK(masked_values(v, &mask).size() == 2);
  CHECK(masked_values(v, nullptr).size() == 4);
}
