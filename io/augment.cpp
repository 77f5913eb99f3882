// Random scanner-like slice changes for the anatomy encoder's input (see augment.h).
#include "io/augment.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "io/error.h"
#include "io/intensity_map.h"  // io::quantiles

namespace im::io {

namespace {

// Separable Gaussian blur of the brain only: a normalized convolution (blurred image over blurred
// mask), so the brain's edge does not darken towards the zero background.
void blur_brain(std::vector<float>& v, const std::vector<float>& m, int64_t H, int64_t W, double sx, double sy) {
  auto kernel = [](double sigma) {
    std::vector<float> k;
    if (sigma < 0.2) return std::vector<float>{1.f};
    const int r = static_cast<int>(std::ceil(3 * sigma));
    double sum = 0;
    for (int i = -r; i <= r; ++i) k.push_back(static_cast<float>(std::exp(-0.5 * i * i / (sigma * sigma)))), sum += k.back();
    for (float& x : k) x = static_cast<float>(x / sum);
    return k;
  };
  const std::vector<float> kx = kernel(sx), ky = kernel(sy);
  std::vector<float> a(v.size()), b(v.size()), ma(m.size()), mb(m.size());
  for (size_t i = 0; i < v.size(); ++i) a[i] = v[i] * m[i];
  auto pass = [&](const std::vector<float>& in, std::vector<float>& out, const std::vector<float>& k, bool along_x) {
    const int64_t r = static_cast<int64_t>(k.size() / 2);
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        float acc = 0.f;
        for (int64_t t = -r; t <= r; ++t) {
          const int64_t xx = along_x ? x + t : x, yy = along_x ? y : y + t;
          if (xx >= 0 && xx < W && yy >= 0 && yy < H) acc += k[static_cast<size_t>(t + r)] * in[static_cast<size_t>(yy * W + xx)];
        }
        out[static_cast<size_t>(y * W + x)] = acc;
      }
  };
  pass(a, b, kx, true), pass(b, a, ky, false);
  pass(m, mb, kx, true), pass(mb, ma, ky, false);
  for (size_t i = 0; i < v.size(); ++i)
    if (m[i] > 0.f) v[i] = a[i] / std::max(ma[i], 1e-6f);
}

}  // namespace

void augment_slice(float* s, const float* below, const float* above, int64_t H, int64_t W, Rng& rng,
                   const AugmentOptions& o) {
  if (rng.uniform() >= o.probability) return;
  const size_t n = static_cast<size_t>(H * W);
  std::vector<float> m(n), v(s, s + n);
  for (size_t i = 0; i < n; ++i) m[i] = s[i] > 0.f ? 1.f : 0.f;

  // Through-plane partial volume: a thick slice is a weighted mean of its neighbours.
  if (o.through_plane > 0 && (below || above)) {
    const double wb = below ? o.through_plane * rng.uniform() : 0.0, wa = above ? o.through_plane * rng.uniform() : 0.0;
    for (size_t i = 0; i < n; ++i)
      if (m[i] > 0.f)
        v[i] = static_cast<float>((1 - wb - wa) * v[i] + (below ? wb * below[i] : 0.0) + (above ? wa * above[i] : 0.0));
  }
  // In-plane blur, x and y drawn apart (a site may blur one direction only).
  const double sx = rng.uniform() < 0.5 ? o.blur * rng.uniform() : 0.0, sy = rng.uniform() < 0.5 ? o.blur * rng.uniform() : 0.0;
  if (sx >= 0.2 || sy >= 0.2) blur_brain(v, m, H, W, sx, sy);

  // Monotone contrast curve: five segments over [0, 1] with log-normal slopes, scaled so that 1
  // maps to U(top_min, 1); above 1 the last slope goes on (clamped below).
  double slope[5], knot_y[6] = {0, 0, 0, 0, 0, 0};
  for (double& k : slope) k = std::exp(o.curve * rng.normal());
  for (int k = 0; k < 5; ++k) knot_y[k + 1] = knot_y[k] + 0.2 * slope[k];
  const double top = o.top_min + (1 - o.top_min) * rng.uniform(), scale = top / knot_y[5];
  auto curve = [&](double x) {
    const int k = std::clamp(static_cast<int>(x / 0.2), 0, 4);
    return scale * (knot_y[k] + (x - 0.2 * k) * slope[k]);
  };
  // Smooth bias field: exp(a * quadratic in x, y on [-1, 1]) with random coefficients.
  double c[5];
  for (double& k : c) k = rng.normal() / std::sqrt(5.0);
  const double amp = o.bias * rng.uniform(), sigma = o.noise * rng.uniform();
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      const size_t i = static_cast<size_t>(y * W + x);
      if (m[i] == 0.f) {
        s[i] = 0.f;
        continue;
      }
      const double u = 2.0 * x / std::max<int64_t>(W - 1, 1) - 1, w = 2.0 * y / std::max<int64_t>(H - 1, 1) - 1;
      const double field = std::exp(amp * (c[0] * u + c[1] * w + c[2] * u * w + c[3] * (u * u - 1.0 / 3) + c[4] * (w * w - 1.0 / 3)));
      double val = curve(std::max(0.0, static_cast<double>(v[i]))) * field;
      if (sigma > 0) {  // Rician: the magnitude of a complex signal with Gaussian noise in each part
        const double re = val + sigma * rng.normal(), im = sigma * rng.normal();
        val = std::sqrt(re * re + im * im);
      }
      // Kept above 0 so that a brain voxel stays brain for the next stages' masks.
      s[i] = static_cast<float>(std::clamp(val, 1e-4, 1.0));
    }
}

std::vector<double> brain_quantiles(const float* v, size_t n, int count) {
  std::vector<float> brain;
  for (size_t i = 0; i < n; ++i)
    if (v[i] > 0.f) brain.push_back(v[i]);
  if (brain.empty()) throw Error("brain_quantiles: no brain voxels (all <= 0)");
  return quantiles(brain, count);
}

void match_intensities(float* s, size_t n, const std::vector<double>& from, const std::vector<double>& to) {
  if (from.size() < 2 || from.size() != to.size())
    throw Error("match_intensities: two quantile tables of the same length >= 2 are needed");
  const double last = static_cast<double>(from.size() - 1);
  for (size_t i = 0; i < n; ++i) {
    if (s[i] <= 0.f) continue;
    // The voxel's probability under `from`: between the quantiles around it, or the middle of a run
    // of equal quantiles it sits on (a flat stretch of the distribution).
    const auto lo = std::lower_bound(from.begin(), from.end(), s[i]), hi = std::upper_bound(from.begin(), from.end(), s[i]);
    double u;
    if (hi == from.begin()) {
      u = 0;
    } else if (lo == from.end()) {
      u = 1;
    } else if (lo != hi) {
      u = 0.5 * static_cast<double>((lo - from.begin()) + (hi - from.begin()) - 1) / last;
    } else {
      const size_t k = static_cast<size_t>(hi - from.begin()) - 1;
      u = (static_cast<double>(k) + (s[i] - from[k]) / (from[k + 1] - from[k])) / last;
    }
    const double t = u * last;
    const size_t k = std::min(static_cast<size_t>(t), from.size() - 2);
    const double v = to[k] + (t - static_cast<double>(k)) * (to[k + 1] - to[k]);
    s[i] = static_cast<float>(std::clamp(v, 1e-4, 1.0));
  }
}

}  // namespace im::io
