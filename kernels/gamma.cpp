// CPU twin of kernels/gamma.cu.
#include "kernels/gamma.h"

#include <cmath>

#include "kernels/parallel.h"

namespace im {

void gamma_forward_cpu(float* y, const float* x, const float* gamma, int64_t N, int64_t per) {
#pragma omp parallel for collapse(2) schedule(static) if (N * per > kParallelGrain / 4)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < per; ++i) {
      const int64_t k = n * per + i;
      y[k] = x[k] > 0.f ? std::pow(x[k], gamma[n]) : 0.f;
    }
}

void gamma_backward_cpu(float* dx, const float* dy, const float* x, const float* gamma, int64_t N, int64_t per) {
#pragma omp parallel for collapse(2) schedule(static) if (N * per > kParallelGrain / 4)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < per; ++i) {
      const int64_t k = n * per + i;
      if (x[k] > 0.f) dx[k] += dy[k] * gamma[n] * std::pow(x[k], gamma[n] - 1.f);
    }
}

}  // namespace im
