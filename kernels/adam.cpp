// CPU twin of kernels/adam.cu.
#include <cmath>

#include "kernels/adam.h"
#include "kernels/parallel.h"

namespace im {

void adam_step_cpu(float* p, const float* g, float* m, float* v, int64_t n, AdamArgs a) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    float gi = g[i] + a.weight_decay * p[i];
    float mi = a.beta1 * m[i] + (1.f - a.beta1) * gi;
    float vi = a.beta2 * v[i] + (1.f - a.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= a.step_size * mi / (std::sqrt(vi) / a.bias2_sqrt + a.eps);
  }
}

}  // namespace im
