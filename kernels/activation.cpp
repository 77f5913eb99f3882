// CPU twins of kernels/activation.cu.
#include "kernels/activation.h"

#include <cmath>

#include "kernels/parallel.h"

namespace im {

void leaky_relu_forward_cpu(float* y, const float* x, int64_t n, float alpha) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : alpha * x[i];
}

void leaky_relu_backward_cpu(float* dx, const float* dy, const float* y, int64_t n, float alpha) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) dx[i] += y[i] > 0.f ? dy[i] : alpha * dy[i];
}

void sigmoid_forward_cpu(float* y, const float* x, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + std::exp(-x[i]));
}

void sigmoid_backward_cpu(float* dx, const float* dy, const float* y, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * y[i] * (1.f - y[i]);
}

}  // namespace im
