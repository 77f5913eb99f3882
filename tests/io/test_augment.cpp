// The anatomy encoder's augmentation (io/augment.h): background kept, values in range, a monotone
// contrast curve alone keeps the voxels' order, noise and partial volume act as specified, the
// draws depend on the generator only; the sampler serves it beside unchanged batches.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <vector>

#include "io/augment.h"
#include "io/sampler.h"
#include "io_test_util.h"
#include "support/paths.h"

using namespace im;

namespace {

constexpr int64_t H = 40, W = 48;

// A disc of "brain" with a ramp of intensities from 0.1 to 0.95, zero outside.
std::vector<float> slice() {
  std::vector<float> s(H * W, 0.f);
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x)
      if (std::pow((x - W / 2.0) / 20.0, 2) + std::pow((y - H / 2.0) / 17.0, 2) < 1)
        s[y * W + x] = static_cast<float>(0.1 + 0.85 * (x + W * y) / double(H * W));
  return s;
}

io::AugmentOptions only(double io::AugmentOptions::*field, double value) {
  io::AugmentOptions o;
  o.probability = 1, o.curve = 0, o.top_min = 1, o.bias = 0, o.blur = 0, o.through_plane = 0, o.noise = 0;
  o.*field = value;
  return o;
}

// n synthetic subjects written under dir with their brain masks, subject k at site k: an
// ellipsoid of "brain" in a 48 x 48 x 30 grid of 2 mm voxels, valued value(k, x, y, z) inside.
std::vector<io::SamplerItem> ellipsoid_sites(const std::string& dir, int n,
                                             const std::function<float(int, int64_t, int64_t, int64_t)>& value) {
  std::vector<io::SamplerItem> items;
  for (int k = 0; k < n; ++k) {
    const io::Volume v = test::synthetic({48, 48, 30}, test::diag_affine(2, 2, 2), [&](int64_t x, int64_t y, int64_t z) {
      const double r = std::pow((x - 24) / 19.0, 2) + std::pow((y - 24) / 19.0, 2) + std::pow((z - 15) / 12.0, 2);
      return r < 1 ? value(k, x, y, z) : 0.0f;
    });
    io::Volume m = v;
    for (float& x : m.data) x = x > 0;
    io::SamplerItem it;
    it.path = dir + "/s" + std::to_string(k) + ".nii.gz";
    it.mask.kind = io::MaskSpec::Kind::file;
    it.mask.path = dir + "/s" + std::to_string(k) + "_mask.nii.gz";
    io::write_volume(it.path, v);
    io::write_volume(it.mask.path, m);
    it.site = k;
    items.push_back(it);
  }
  return items;
}

}  // namespace

TEST_CASE("augment: background stays zero and brain voxels stay above 0 and at most 1", "[augment]") {
  const std::vector<float> in = slice();
  std::vector<float> below(in.size(), 0.9f), above(in.size(), 0.05f);
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    std::vector<float> s = in;
    io::Rng rng(seed);
    io::AugmentOptions o;
    o.probability = 1;
    io::augment_slice(s.data(), below.data(), above.data(), H, W, rng, o);
    for (size_t i = 0; i < s.size(); ++i) {
      if (in[i] == 0.f) REQUIRE(s[i] == 0.f);
      else REQUIRE((s[i] > 0.f && s[i] <= 1.f));
    }
  }
}

TEST_CASE("augment: the contrast curve alone is monotone and changes the contrast", "[augment]") {
  const std::vector<float> in = slice();
  std::vector<size_t> order(in.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return in[a] < in[b]; });
  double largest_change = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::vector<float> s = in;
    io::Rng rng(seed);
    io::augment_slice(s.data(), nullptr, nullptr, H, W, rng, only(&io::AugmentOptions::curve, 0.4));
    for (size_t k = 1; k < order.size(); ++k) REQUIRE(s[order[k]] >= s[order[k - 1]]);
    for (size_t i = 0; i < s.size(); ++i) largest_change = std::max(largest_change, double(std::abs(s[i] - in[i])));
  }
  CHECK(largest_change > 0.05);
}

TEST_CASE("augment: noise is Rician with sigma at most the option, partial volume mixes the neighbours", "[augment]") {
  std::vector<float> flat(H * W, 0.5f);
  double sum = 0, sum2 = 0, n = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    std::vector<float> s = flat;
    io::Rng rng(seed);
    io::augment_slice(s.data(), nullptr, nullptr, H, W, rng, only(&io::AugmentOptions::noise, 0.04));
    for (float v : s) sum += v - 0.5, sum2 += (v - 0.5) * (v - 0.5), ++n;
  }
  const double sd = std::sqrt(sum2 / n - (sum / n) * (sum / n));
  // sigma ~ U(0, 0.04): the pooled standard deviation is sqrt(E[sigma^2]) = 0.04 / sqrt(3) = 0.023.
  CHECK(sd == Approx(0.04 / std::sqrt(3.0)).margin(0.006));

  std::vector<float> below(H * W, 0.9f), above(H * W, 0.1f);
  bool moved = false;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::vector<float> s = flat;
    io::Rng rng(seed);
    io::augment_slice(s.data(), below.data(), above.data(), H, W, rng, only(&io::AugmentOptions::through_plane, 0.3));
    // (1 - wb - wa) 0.5 + wb 0.9 + wa 0.1 with wb, wa in [0, 0.3]: within [0.38, 0.62], one value.
    REQUIRE(s[0] >= 0.38f);
    REQUIRE(s[0] <= 0.62f);
    REQUIRE(std::all_of(s.begin(), s.end(), [&](float v) { return v == s[0]; }));
    moved = moved || std::abs(s[0] - 0.5f) > 0.01f;
  }
  CHECK(moved);
}

TEST_CASE("augment: the same generator state gives the same slice, probability 0 changes nothing", "[augment]") {
  const std::vector<float> in = slice();
  std::vector<float> a = in, b = in, c = in;
  io::Rng ra(7), rb(7), rc(8);
  io::augment_slice(a.data(), nullptr, nullptr, H, W, ra, io::AugmentOptions{});
  io::augment_slice(b.data(), nullptr, nullptr, H, W, rb, io::AugmentOptions{});
  REQUIRE(a == b);
  io::AugmentOptions never;
  never.probability = 0;
  io::augment_slice(c.data(), nullptr, nullptr, H, W, rc, never);
  REQUIRE(c == in);
}

TEST_CASE("augment: the sampler serves augmented anatomy inputs beside the same batches", "[augment][sampler]") {
  // Three synthetic subjects with a brain mask, as in the sampler's tests.
  const std::string dir = test::scratch_dir("augment_sampler");
  const std::vector<io::SamplerItem> items = ellipsoid_sites(dir, 3, [](int k, int64_t x, int64_t y, int64_t z) {
    return float(300 + 200 * ((x + y + z + k) % 3));
  });
  io::SamplerOptions o;
  o.height = o.width = 64, o.batch_size = 8, o.seed = 5, o.workers = 1, o.load_threads = 1;
  io::SliceSampler plain(items, o);
  o.anatomy_augment = true;
  io::SliceSampler aug(items, o);
  int changed = 0;
  for (int i = 0; i < 4; ++i) {
    const io::Batch a = plain.make_batch(i), b = aug.make_batch(i);
    REQUIRE(a.s1_anatomy.empty());
    REQUIRE(a.s1 == b.s1);
    REQUIRE(a.s2 == b.s2);
    REQUIRE(b.s1_anatomy.size() == b.s1.size());
    const size_t plane = 64 * 64;
    for (int k = 0; k < b.B; ++k) {
      bool differs = false;
      for (size_t j = 0; j < plane; ++j) {
        const size_t i2 = k * plane + j;
        REQUIRE((b.s1[i2] == 0.f) == (b.s1_anatomy[i2] == 0.f));  // the same brain, background 0
        differs = differs || b.s1[i2] != b.s1_anatomy[i2];
      }
      changed += differs;
    }
  }
  // Probability 0.8 per slice: of 32 slices, fewer than 16 changed is very unlikely (p < 1e-6).
  CHECK(changed >= 16);
}

TEST_CASE("augment: brain quantiles are the order statistics of the voxels above 0", "[augment]") {
  // 101 brain values 0.01, 0.02, ..., 1.01 in shuffled order among zeros: quantile k is 0.01 (k + 1).
  std::vector<float> v(300, 0.f);
  for (int i = 0; i < 101; ++i) v[static_cast<size_t>((i * 37) % 101) * 2 + 50] = 0.01f * static_cast<float>(i + 1);
  const std::vector<double> q = io::brain_quantiles(v.data(), v.size());
  REQUIRE(q.size() == 101);
  for (int k = 0; k < 101; ++k) CHECK(q[static_cast<size_t>(k)] == Approx(0.01 * (k + 1)).margin(1e-6));
  const std::vector<float> zeros(10, 0.f);
  CHECK_THROWS_WITH(io::brain_quantiles(zeros.data(), zeros.size()), Catch::Contains("no brain voxels"));
}

TEST_CASE("augment: histogram matching recovers the monotone curve between two volumes of one anatomy", "[augment]") {
  // A slice and the same slice through a curve g: matching the first to the second's quantiles
  // must give g of every voxel (to the interpolation between 101 quantiles), background kept.
  const std::vector<float> in = slice();
  auto g = [](float x) { return 0.9f * std::pow(x, 1.8f) + 0.05f; };
  std::vector<float> target = in;
  for (float& x : target)
    if (x > 0) x = g(x);
  std::vector<float> out = in;
  io::match_intensities(out.data(), out.size(), io::brain_quantiles(in.data(), in.size()),
                        io::brain_quantiles(target.data(), target.size()));
  double worst = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    REQUIRE((out[i] == 0.f) == (in[i] == 0.f));
    worst = std::max(worst, std::abs(static_cast<double>(out[i]) - target[i]));
  }
  INFO("largest difference from g: " << worst);
  CHECK(worst < 2e-3);
  // Voxels outside the source's range take the target's ends: g of the source's extremes.
  float lo = 1.f, hi = 0.f;
  for (float x : in)
    if (x > 0) lo = std::min(lo, x), hi = std::max(hi, x);
  std::vector<float> ends = {0.5f * lo, std::min(1.f, 1.05f * hi)};
  io::match_intensities(ends.data(), ends.size(), io::brain_quantiles(in.data(), in.size()),
                        io::brain_quantiles(target.data(), target.size()));
  CHECK(ends[0] == Approx(g(lo)).margin(1e-5));
  CHECK(ends[1] == Approx(g(hi)).margin(1e-5));
}

TEST_CASE("augment: with site_match the sampler gives a slice the other site's contrast, its own anatomy", "[augment][sampler]") {
  // One anatomy (a smooth ramp in an ellipsoid) at two sites; site 1 sees it through a curve.
  const std::string dir = test::scratch_dir("augment_site_match");
  const std::vector<io::SamplerItem> items = ellipsoid_sites(dir, 2, [](int k, int64_t x, int64_t y, int64_t z) {
    const double a = 0.2 + 0.8 * (x + 0.7 * y + 0.5 * z) / (47 + 0.7 * 47 + 0.5 * 29);
    return float(1000 * (k == 0 ? a : std::pow(a, 2.5)));
  });
  const size_t plane = 64 * 64;
  io::SamplerOptions o;
  o.height = o.width = 64, o.batch_size = 8, o.seed = 3, o.workers = 1, o.load_threads = 1;
  // Each site's prepared slices by axial index, from plain batches.
  std::map<std::pair<int, int>, std::vector<float>> acquired;
  {
    io::SliceSampler plain(items, o);
    for (int i = 0; i < 40; ++i) {
      const io::Batch b = plain.make_batch(i);
      for (int k = 0; k < b.B; ++k)
        acquired[{b.site[k], b.slice1[k]}].assign(b.s1.begin() + k * plane, b.s1.begin() + (k + 1) * plane);
    }
  }
  o.anatomy_augment = true;
  o.augment.probability = 0;  // the random changes off: only the matching acts
  o.augment.site_match = 1;
  io::SliceSampler matched(items, o);
  int compared = 0;
  int64_t voxels = 0, clipped = 0;
  double worst = 0;
  for (int i = 0; i < 6; ++i) {
    const io::Batch b = matched.make_batch(i);
    for (int k = 0; k < b.B; ++k) {
      const auto other = acquired.find({1 - b.site[k], b.slice1[k]});
      if (other == acquired.end()) continue;
      ++compared;
      for (size_t j = 0; j < plane; ++j) {
        const float got = b.s1_anatomy[k * plane + j];
        REQUIRE((got == 0.f) == (b.s1[k * plane + j] == 0.f));
        // prep's normalization (WM peak at 0.7) clips this ramp's top at 1: those voxels lost their
        // order, and map to one value, the middle of that flat run of the distribution.
        if (b.s1[k * plane + j] >= 1.f || other->second[j] >= 1.f) {
          ++clipped;
          continue;
        }
        ++voxels;
        worst = std::max(worst, std::abs(static_cast<double>(got) - other->second[j]));
      }
    }
  }
  INFO(compared << " slices compared, " << voxels << " brain voxels (" << clipped << " clipped at 1 left out); "
                 << "largest difference from the other site's slice " << worst);
  REQUIRE(compared >= 20);
  REQUIRE(clipped < voxels / 2);
  CHECK(worst < 0.01);
}
