// CPU twin of kernels/compare.cu.
#include "kernels/compare.h"

#include "kernels/parallel.h"

namespace im {

void greater_equal_cpu(float* y, const float* x, int64_t n, float threshold) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] >= threshold ? 1.f : 0.f;
}

}  // namespace im
