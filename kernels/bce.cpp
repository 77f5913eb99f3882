// CPU twin of kernels/bce.cu.
#include "kernels/bce.h"

#include <cmath>

#include "kernels/loss_reduce.h"

namespace im {

namespace {
inline float bce_term(float x, float t) { return std::fmax(x, 0.f) - x * t + std::log1p(std::exp(-std::fabs(x))); }
// sigmoid(x) from e = exp(-|x|) <= 1, stable at both ends.
inline float sigmoid_of(float x) {
  const float e = std::exp(-std::fabs(x));
  return x >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
}
}  // namespace

void bce_forward_cpu(float* loss, const float* x, const float* t, int64_t n) {
  double s = chunked_sum<double>(n, [&](int64_t i) { return static_cast<double>(bce_term(x[i], t[i])); });
  loss[0] = n > 0 ? static_cast<float>(s / static_cast<double>(n)) : 0.f;
}

void bce_backward_cpu(float* dx, float* dt, const float* dloss, const float* x, const float* t, int64_t n) {
  const float g = n > 0 ? dloss[0] / static_cast<float>(n) : 0.f;
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    if (dx) dx[i] += g * (sigmoid_of(x[i]) - t[i]);
    if (dt) dt[i] -= g * x[i];
  }
}

}  // namespace im
