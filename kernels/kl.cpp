// CPU twin of kernels/kl.cu.
#include "kernels/kl.h"

#include <cmath>

#include "kernels/loss_reduce.h"

namespace im {

void kl_forward_cpu(float* loss, const float* mu, const float* logvar, int64_t n, int64_t batch) {
  // 1 + lv - exp(lv) = lv - expm1(lv): no cancellation near lv = 0.
  double s = chunked_sum<double>(n, [&](int64_t i) {
    return static_cast<double>(mu[i] * mu[i] + std::expm1(logvar[i]) - logvar[i]);
  });
  loss[0] = static_cast<float>(0.5 * s / static_cast<double>(batch));
}

void kl_backward_cpu(float* dmu, float* dlogvar, const float* dloss, const float* mu, const float* logvar, int64_t n,
                     int64_t batch) {
  const float g = dloss[0] / static_cast<float>(batch);
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    if (dmu) dmu[i] += g * mu[i];
    if (dlogvar) dlogvar[i] += g * 0.5f * std::expm1(logvar[i]);
  }
}

}  // namespace im
