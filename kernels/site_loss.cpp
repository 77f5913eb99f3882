// CPU twin of kernels/site_loss.cu.
#include "kernels/site_loss.h"

#include <cmath>
#include <cstdint>
#include <limits>

namespace im {

namespace {
// The label of row i as an index, or -1 when it is not an integer in [0, S).
int64_t label_index(const float* labels, int64_t i, int64_t S) {
  const float l = labels[i];
  if (!(l >= 0.f) || l >= static_cast<float>(S) || l != std::floor(l)) return -1;
  return static_cast<int64_t>(l);
}

// Target weight of class s for a row labelled y (y < 0 never happens here; -1 means confusion).
struct Target {
  float hot, base;  // target_s = base + (s == y ? hot : 0)
};
Target target_of(bool confusion, int64_t S, float smoothing) {
  if (confusion) return {0.f, 1.f / static_cast<float>(S)};
  return {1.f - smoothing, smoothing / static_cast<float>(S)};
}
}  // namespace

void site_loss_forward_cpu(float* loss, const float* logits, const float* labels, int64_t N, int64_t S,
                           float smoothing) {
  const bool confusion = labels == nullptr;
  const Target t = target_of(confusion, S, smoothing);
  double total = 0;
  for (int64_t i = 0; i < N; ++i) {
    const float* x = logits + i * S;
    const int64_t y = confusion ? -1 : label_index(labels, i, S);
    if (!confusion && y < 0) {
      total = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    float m = x[0];
    for (int64_t s = 1; s < S; ++s) m = std::fmax(m, x[s]);
    double se = 0, sx = 0;
    for (int64_t s = 0; s < S; ++s) {
      se += std::exp(static_cast<double>(x[s] - m));
      sx += x[s];
    }
    const double lse = m + std::log(se);
    const double tx = t.base * sx + (y >= 0 ? t.hot * static_cast<double>(x[y]) : 0.0);
    total += lse * (t.hot + t.base * static_cast<double>(S)) - tx;
  }
  loss[0] = static_cast<float>(total / static_cast<double>(N));
}

void site_loss_backward_cpu(float* dlogits, const float* dloss, const float* logits, const float* labels, int64_t N,
                            int64_t S, float smoothing) {
  const bool confusion = labels == nullptr;
  const Target t = target_of(confusion, S, smoothing);
  const float g = dloss[0] / static_cast<float>(N);
  for (int64_t i = 0; i < N; ++i) {
    const float* x = logits + i * S;
    float* dx = dlogits + i * S;
    const int64_t y = confusion ? -1 : label_index(labels, i, S);
    const float bad = (!confusion && y < 0) ? std::numeric_limits<float>::quiet_NaN() : 0.f;
    float m = x[0];
    for (int64_t s = 1; s < S; ++s) m = std::fmax(m, x[s]);
    float se = 0.f;
    for (int64_t s = 0; s < S; ++s) se += std::exp(x[s] - m);
    const float inv = 1.f / se;
    for (int64_t s = 0; s < S; ++s) {
      const float target = t.base + (s == y ? t.hot : 0.f);
      dx[s] += g * (std::exp(x[s] - m) * inv - target) + bad;
    }
  }
}

}  // namespace im
