// CPU twin of kernels/upsample.cu: one input row at a time, written to its two output rows.
#include "kernels/upsample.h"

#include "kernels/parallel.h"

namespace im {

void upsample2x_forward_cpu(float* y, const float* x, int64_t planes, int64_t h, int64_t w) {
  const int64_t rows = planes * h;
#pragma omp parallel for schedule(static) if (rows * w * 4 > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = x + r * w;
    float* d0 = y + r * 4 * w;  // output rows 2i and 2i + 1 of the same plane follow each other
    float* d1 = d0 + 2 * w;
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) d0[2 * j] = d0[2 * j + 1] = s[j];
#pragma omp simd
    for (int64_t j = 0; j < 2 * w; ++j) d1[j] = d0[j];
  }
}

void upsample2x_backward_cpu(float* dx, const float* dy, int64_t planes, int64_t h, int64_t w) {
  const int64_t rows = planes * h;
#pragma omp parallel for schedule(static) if (rows * w * 4 > kParallelGrain)
  for (int64_t r = 0; r < rows; ++r) {
    float* d = dx + r * w;
    const float* s0 = dy + r * 4 * w;
    const float* s1 = s0 + 2 * w;
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) d[j] += ((s0[2 * j] + s0[2 * j + 1]) + s1[2 * j]) + s1[2 * j + 1];
  }
}

}  // namespace im
