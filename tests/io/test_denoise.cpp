// Noise estimation and non-local means (io/denoise.h) on synthetic images with known noise.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "io/denoise.h"

using namespace im;

namespace {

// A 64 x 64 x 8 volume: two flat halves (0.3 | 0.7) split along x, plus Gaussian noise.
io::Volume step_volume(double sigma, uint32_t seed) {
  io::Volume v;
  v.dim = {64, 64, 8};
  v.data.resize(64 * 64 * 8);
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.f, static_cast<float>(sigma));
  for (size_t i = 0; i < v.data.size(); ++i) v.data[i] = ((i % 64) < 32 ? 0.3f : 0.7f) + n(rng);
  return v;
}

double sd_of_columns(const io::Volume& v, int64_t x0, int64_t x1, float mean) {
  double s = 0;
  int64_t n = 0;
  for (size_t i = 0; i < v.data.size(); ++i)
    if (static_cast<int64_t>(i % 64) >= x0 && static_cast<int64_t>(i % 64) < x1) s += (v.data[i] - mean) * (v.data[i] - mean), ++n;
  return std::sqrt(s / n);
}

}  // namespace

TEST_CASE("denoise: the noise estimate finds the noise and ignores an edge", "[denoise]") {
  const io::Mask all(64 * 64 * 8, 1);
  for (double sigma : {0.01, 0.03, 0.08}) {
    const io::Volume v = step_volume(sigma, 3);
    INFO("sigma " << sigma);
    CHECK(io::estimate_noise(v, all) == Approx(sigma).epsilon(0.1));
  }
  // Voxels outside the mask do not count: a wild region outside changes nothing.
  io::Volume v = step_volume(0.03, 4);
  io::Mask half(v.data.size(), 0);
  for (size_t i = 0; i < v.data.size(); ++i) half[i] = (i / 64) % 64 < 40;
  const double before = io::estimate_noise(v, half);
  for (size_t i = 0; i < v.data.size(); ++i)
    if (!half[i]) v.data[i] = static_cast<float>(i % 7);
  CHECK(io::estimate_noise(v, half) == before);
  CHECK(io::estimate_noise(v, io::Mask(v.data.size(), 0)) == 0);
}

TEST_CASE("denoise: non-local means lowers the noise and keeps the edge", "[denoise]") {
  io::Volume v = step_volume(0.05, 5);
  const io::Mask all(v.data.size(), 1);
  io::nlm_denoise(v, all, 0.05);
  // Away from the edge the noise drops to less than half ...
  CHECK(sd_of_columns(v, 4, 26, 0.3f) < 0.025);
  CHECK(sd_of_columns(v, 38, 60, 0.7f) < 0.025);
  // ... and the step stays a step: the columns next to it keep their own level.
  double left = 0, right = 0;
  for (size_t i = 0; i < v.data.size(); ++i) {
    if (i % 64 == 31) left += v.data[i];
    if (i % 64 == 32) right += v.data[i];
  }
  left /= 64 * 8, right /= 64 * 8;
  CHECK(left == Approx(0.3).margin(0.03));
  CHECK(right == Approx(0.7).margin(0.03));
  // h = 0 changes nothing; voxels outside the mask are neither changed nor used.
  io::Volume w = step_volume(0.05, 6), w0 = w;
  io::nlm_denoise(w, all, 0.0);
  CHECK(w.data == w0.data);
  io::Mask left_half(w.data.size(), 0);
  for (size_t i = 0; i < w.data.size(); ++i) left_half[i] = i % 64 < 32;
  io::nlm_denoise(w, left_half, 0.05);
  for (size_t i = 0; i < w.data.size(); ++i)
    if (!left_half[i]) REQUIRE(w.data[i] == w0.data[i]);
  CHECK(sd_of_columns(w, 4, 26, 0.3f) < 0.025);
}
