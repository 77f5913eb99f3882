// Quantile-mapping histogram matching and the exact 1-D Wasserstein distance.
#include "eval/histmatch.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "io/error.h"
#include "io/intensity_map.h"

namespace im::eval {


double HistogramMatch::apply(double x) const {
  if (!(x > 0) || source.empty()) return x;
  const double x0 = source.front(), y0 = reference.front();
  if (x < x0) return x0 > 0 && y0 > 0 ? y0 * x / x0 : y0;
  const double xn = source.back(), yn = reference.back();
  if (x >= xn) {
    const double sr = xn - x0, rr = yn - y0;
    const double slope = sr > 0 && rr > 0 ? rr / sr : 1.0;
    return yn + (x - xn) * slope;
  }
  const size_t k = static_cast<size_t>(std::upper_bound(source.begin(), source.end(), x) - source.begin());  // source[k-1] <= x < source[k]
  const double t = (x - source[k - 1]) / (source[k] - source[k - 1]);
  return reference[k - 1] + t * (reference[k] - reference[k - 1]);
}

std::vector<double> masked_values(const io::Volume& v, const io::Mask* mask) {
  std::vector<double> out;
  out.reserve(mask ? static_cast<size_t>(io::mask_count(*mask)) : v.data.size());
  for (size_t i = 0; i < v.data.size(); ++i)
    if (!mask || (*mask)[i]) out.push_back(v.data[i]);
  return out;
}

HistogramMatch fit_histogram_match(std::vector<double> source, std::vector<double> reference, const HistMatchOptions& options) {
  if (source.empty() || reference.empty()) throw io::Error("histogram matching: an empty intensity sample");
  if (options.landmarks < 2) throw io::Error("histogram matching: at least 2 landmarks are needed");
  std::sort(source.begin(), source.end());
  std::sort(reference.begin(), reference.end());
  const int n = options.landmarks;
  std::vector<double> xs(static_cast<size_t>(n)), xr(static_cast<size_t>(n));
  for (int k = 0; k < n; ++k) {
    const double q = static_cast<double>(k) / (n - 1);
    xs[static_cast<size_t>(k)] = io::quantile_sorted(source, q), xr[static_cast<size_t>(k)] = io::quantile_sorted(reference, q);
  }
  HistogramMatch m;
  io::merge_landmarks(xs, xr, m.source, m.reference);
  return m;
}

void apply_histogram_match(io::Volume& v, const HistogramMatch& m, double lo, double hi) {
#pragma omp parallel for schedule(static) if (v.data.size() > (1u << 18))
  for (int64_t i = 0; i < static_cast<int64_t>(v.data.size()); ++i)
    v.data[i] = static_cast<float>(std::clamp(m.apply(v.data[i]), lo, hi));
}

double wasserstein1(std::vector<double> a, std::vector<double> b) {
  if (a.empty() || b.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  // Walk the merged breakpoints; between consecutive ones both CDFs are constant.
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  size_t i = 0, j = 0;
  double x = std::min(a[0], b[0]), total = 0;
  while (i < a.size() || j < b.size()) {
    const double next = j == b.size() || (i < a.size() && a[i] <= b[j]) ? a[i] : b[j];
    total += std::fabs(static_cast<double>(i) / na - static_cast<double>(j) / nb) * (next - x);
    x = next;
    while (i < a.size() && a[i] == x) ++i;
    while (j < b.size() && b[j] == x) ++j;
  }
  return total;
}

}  // namespace im::eval
