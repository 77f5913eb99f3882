// CPU twin of kernels/rank.cu: one sort per sample, then runs of equal values share their mid-rank.
#include "kernels/rank.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace im {

void rank_normalize_cpu(float* y, const float* x, int64_t n_samples, int64_t sample_size, float threshold, float lo) {
#pragma omp parallel for schedule(dynamic, 1) if (n_samples > 1 && n_samples * sample_size > (1 << 15))
  for (int64_t s = 0; s < n_samples; ++s) {
    const float* xs = x + s * sample_size;
    float* ys = y + s * sample_size;
    std::vector<std::pair<float, int64_t>> fg;
    fg.reserve(static_cast<size_t>(sample_size));
    for (int64_t i = 0; i < sample_size; ++i) {
      ys[i] = 0.f;
      if (xs[i] >= threshold) fg.emplace_back(xs[i], i);
    }
    std::sort(fg.begin(), fg.end());
    const int64_t m = static_cast<int64_t>(fg.size());
    const float denom = static_cast<float>(2 * std::max<int64_t>(m - 1, 1));
    for (int64_t a = 0; a < m;) {
      int64_t b = a;
      while (b < m && fg[b].first == fg[a].first) ++b;
      // #{u < v} = a, #{u == v} = b - a; integers below 2^24 are exact in float.
      const float r = static_cast<float>(2 * a + (b - a) - 1) / denom;
      const float v = std::fma(1.f - lo, r, lo);
      for (int64_t k = a; k < b; ++k) ys[fg[k].second] = v;
      a = b;
    }
  }
}

}  // namespace im
