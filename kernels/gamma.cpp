// CPU twin of kernels/gamma.cu.
#include "kernels/gamma.h"

#include <cmath>

#include "kernels/parallel.h"

namespace im {

void gamma_forward_cpu(float* y, const float* x, const float* gamma, int64_t N, int64_t per) {
  for (int64_t n = 0; n < N; ++n) {
    const float g = gamma[n];
    const float* xs = x + n * per;
    float* ys = y + n * per;
#pragma omp parallel for simd schedule(static) if (per > kParallelGrain)
    for (int64_t i = 0; i < per; ++i) ys[i] = xs[i] > 0.f ? std::pow(xs[i], g) : 0.f;
  }
}

void gamma_backward_cpu(float* dx, const float* dy, const float* x, const float* gamma, int64_t N, int64_t per) {
  for (int64_t n = 0; n < N; ++n) {
    const float g = gamma[n];
    const float* xs = x + n * per;
    const float* dys = dy + n * per;
    float* dxs = dx + n * per;
#pragma omp parallel for simd schedule(static) if (per > kParallelGrain)
    for (int64_t i = 0; i < per; ++i)
      if (xs[i] > 0.f) dxs[i] += dys[i] * g * std::pow(xs[i], g - 1.f);
  }
}

}  // namespace im
