// CPU twin of kernels/reparam.cu.
#include "kernels/reparam.h"

#include <cmath>

#include "kernels/parallel.h"
#include "kernels/philox.h"

namespace im {

void reparameterize_forward_cpu(float* z, float* eps, const float* mu, const float* logvar, int64_t n,
                                uint64_t seed, uint64_t offset) {
  // Philox plus a double Box-Muller costs far more than a memory pass: parallelize earlier.
#pragma omp parallel for schedule(static) if (n > kParallelGrain / 8)
  for (int64_t i = 0; i < n; ++i) {
    const float e = philox::normal(seed, offset, static_cast<uint64_t>(i));
    z[i] = mu[i] + e * std::exp(0.5f * logvar[i]);
    if (eps) eps[i] = e;
  }
}

void reparameterize_backward_cpu(float* dmu, float* dlogvar, const float* dz, const float* eps, const float* logvar,
                                 int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    if (dmu) dmu[i] += dz[i];
    if (dlogvar) dlogvar[i] += dz[i] * eps[i] * 0.5f * std::exp(0.5f * logvar[i]);
  }
}

}  // namespace im
