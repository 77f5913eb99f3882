// Monotone map fitting: equal-count bins, pool-adjacent-violators, linear extension above the top.
#include "io/intensity_map.h"

#include <algorithm>
#include <numeric>

#include "io/error.h"

namespace im::io {

double IntensityMap::operator()(double v) const {
  if (x.empty()) return v;
  if (v <= x.front()) return x.front() > 0 ? y.front() * std::max(v, 0.0) / x.front() : y.front();
  if (v >= x.back()) return y.back() + top_slope * (v - x.back());
  const size_t k = static_cast<size_t>(std::upper_bound(x.begin(), x.end(), v) - x.begin());  // x[k-1] <= v < x[k]
  const double t = (v - x[k - 1]) / (x[k] - x[k - 1]);
  return y[k - 1] + t * (y[k] - y[k - 1]);
}

bool IntensityMap::identity() const { return x.empty(); }

nlohmann::json IntensityMap::to_json() const { return {{"x", x}, {"y", y}, {"top_slope", top_slope}}; }

std::vector<uint8_t> flat_voxels(const std::vector<float>& v, const int64_t dim[3], const std::vector<uint8_t>& mask, double fraction) {
  if (fraction >= 1.0) return mask;
  const int64_t nx = dim[0], ny = dim[1], nz = dim[2];
  std::vector<float> g(v.size(), 0.f);
  std::vector<float> inside;
  auto at = [&](int64_t x, int64_t y, int64_t z) {
    x = std::clamp<int64_t>(x, 0, nx - 1), y = std::clamp<int64_t>(y, 0, ny - 1), z = std::clamp<int64_t>(z, 0, nz - 1);
    return v[static_cast<size_t>(x + nx * (y + ny * z))];
  };
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) {
        const size_t i = static_cast<size_t>(x + nx * (y + ny * z));
        if (!mask[i]) continue;
        const float gx = at(x + 1, y, z) - at(x - 1, y, z), gy = at(x, y + 1, z) - at(x, y - 1, z),
                    gz = at(x, y, z + 1) - at(x, y, z - 1);
        g[i] = gx * gx + gy * gy + gz * gz;
        inside.push_back(g[i]);
      }
  std::vector<uint8_t> out(mask.size(), 0);
  if (inside.empty()) return out;
  const size_t k = static_cast<size_t>(std::clamp(fraction, 0.0, 1.0) * static_cast<double>(inside.size() - 1));
  std::nth_element(inside.begin(), inside.begin() + static_cast<long>(k), inside.end());
  const float limit = inside[k];
  for (size_t i = 0; i < mask.size(); ++i) out[i] = mask[i] && g[i] <= limit;
  return out;
}

IntensityMap fit_monotone_map(const std::vector<float>& from, const std::vector<float>& to, const std::vector<uint8_t>& mask,
                              const IntensityMapOptions& o) {
  if (from.size() != to.size() || from.size() != mask.size())
    throw Error("intensity map: the two images and the mask differ in size");
  std::vector<size_t> idx;
  for (size_t i = 0; i < from.size(); ++i)
    if (mask[i] && from[i] > 0.f) idx.push_back(i);
  const size_t bins = static_cast<size_t>(std::max(o.bins, 2));
  if (idx.size() < 2 * bins)
    throw Error("intensity map: only " + std::to_string(idx.size()) + " voxels in the mask to fit a map of " +
                std::to_string(bins) + " bins");
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return from[a] < from[b]; });
  // Bin means, each with its weight; equal source values never straddle two bins.
  std::vector<double> bx, by, bw;
  size_t start = 0;
  for (size_t b = 0; b < bins && start < idx.size(); ++b) {
    size_t end = std::max(start + 1, (b + 1) * idx.size() / bins);
    while (end < idx.size() && from[idx[end]] == from[idx[end - 1]]) ++end;
    double sx = 0, sy = 0;
    for (size_t i = start; i < end; ++i) sx += from[idx[i]], sy += to[idx[i]];
    const double n = static_cast<double>(end - start);
    bx.push_back(sx / n), by.push_back(sy / n), bw.push_back(n);
    start = end;
  }
  // Pool adjacent violators: blocks of bins whose weighted mean of y is non-decreasing.
  std::vector<double> px, py, pw;
  for (size_t i = 0; i < bx.size(); ++i) {
    px.push_back(bx[i] * bw[i]), py.push_back(by[i] * bw[i]), pw.push_back(bw[i]);
    while (py.size() > 1 && py[py.size() - 2] / pw[pw.size() - 2] > py.back() / pw.back()) {
      px[px.size() - 2] += px.back(), py[py.size() - 2] += py.back(), pw[pw.size() - 2] += pw.back();
      px.pop_back(), py.pop_back(), pw.pop_back();
    }
  }
  IntensityMap m;
  for (size_t i = 0; i < px.size(); ++i) {
    const double xi = px[i] / pw[i], yi = std::max(0.0, py[i] / pw[i]);
    if (!m.x.empty() && xi <= m.x.back()) continue;  // pooled blocks share their x: keep the first
    m.x.push_back(xi), m.y.push_back(yi);
  }
  if (m.x.size() >= 2) {
    const size_t top = std::max<size_t>(1, static_cast<size_t>(o.top_fraction * static_cast<double>(m.x.size())));
    const size_t a = m.x.size() - 1 - std::min(top, m.x.size() - 1);
    const double slope = (m.y.back() - m.y[a]) / (m.x.back() - m.x[a]);
    m.top_slope = std::clamp(slope, 0.0, o.max_top_slope);
  }
  return m;
}

double quantile_sorted(const std::vector<double>& s, double q) {
  const double pos = q * static_cast<double>(s.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, s.size() - 1);
  return s[lo] + (pos - static_cast<double>(lo)) * (s[hi] - s[lo]);
}

std::vector<double> quantiles(const std::vector<float>& values, int n) {
  if (n < 2) throw Error("quantiles: need at least 2 levels, got " + std::to_string(n));
  std::vector<double> q;
  if (values.empty()) return q;
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  for (int k = 0; k < n; ++k) q.push_back(quantile_sorted(sorted, static_cast<double>(k) / (n - 1)));
  return q;
}

void merge_landmarks(const std::vector<double>& xq, const std::vector<double>& yq, std::vector<double>& x,
                     std::vector<double>& y) {
  x.clear(), y.clear();
  for (size_t i = 0; i < xq.size();) {
    size_t j = i;
    double sum = 0;
    while (j < xq.size() && xq[j] == xq[i]) sum += yq[j++];
    x.push_back(xq[i]), y.push_back(sum / static_cast<double>(j - i));
    i = j;
  }
  for (size_t i = 1; i < y.size(); ++i) y[i] = std::max(y[i], y[i - 1]);
}

IntensityMap quantile_map(const std::vector<double>& source, const std::vector<double>& target, double max_top_slope) {
  if (source.size() != target.size() || source.size() < 2)
    throw Error("quantile map: " + std::to_string(source.size()) + " source and " + std::to_string(target.size()) +
                " target quantiles (need the same number, at least 2)");
  std::vector<double> x, y;
  merge_landmarks(source, target, x, y);
  IntensityMap m;
  for (size_t i = 0; i < x.size(); ++i)
    if (x[i] > 0) m.x.push_back(x[i]), m.y.push_back(std::max(0.0, y[i]));  // the map runs to (0, 0) below
  const double sr = source.back() - source.front(), tr = target.back() - target.front();
  m.top_slope = sr > 0 && tr > 0 ? std::clamp(tr / sr, 0.0, max_top_slope) : 1.0;
  return m;
}

IntensityMap blend_maps(const IntensityMap& a, const IntensityMap& b, double w) {
  IntensityMap m;
  if (a.identity() && b.identity()) return m;
  std::vector<double> xs = a.x;
  xs.insert(xs.end(), b.x.begin(), b.x.end());
  std::sort(xs.begin(), xs.end());
  xs.erase(std::unique(xs.begin(), xs.end()), xs.end());
  for (double x : xs)
    if (x > 0) m.x.push_back(x), m.y.push_back(w * a(x) + (1 - w) * b(x));
  // Beyond the last knot each map is linear (an identity map with slope 1).
  m.top_slope = w * (a.identity() ? 1.0 : a.top_slope) + (1 - w) * (b.identity() ? 1.0 : b.top_slope);
  return m;
}

}  // namespace im::io
