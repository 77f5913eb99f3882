// CPU twins of kernels/elementwise.cu.
#include "kernels/elementwise.h"

#include "kernels/parallel.h"

namespace im {

void fill_cpu(float* y, int64_t n, float value) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = value;
}

void add_inplace_cpu(float* y, const float* x, int64_t n, float alpha) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

}  // namespace im
