// CPU twins of kernels/reduce.cu.
#include "kernels/reduce.h"

#include <cstddef>
#include <vector>

#include "kernels/ordered_sum.h"
#include "kernels/parallel.h"

namespace im {

namespace {
constexpr int64_t kColumnBlock = 256;  // inner elements summed together by one task
}  // namespace

void reduce_sum_forward_cpu(float* y, const float* x, int64_t outer, int64_t R, int64_t inner, float scale) {
  const int64_t n = outer * R * inner;
  if (inner == 1) {
    if (outer >= 64 || R <= kReduceChunk) {
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
      for (int64_t o = 0; o < outer; ++o) {
        const float* xr = x + o * R;
        const double s = ordered_sum(R, [xr](int64_t r) { return static_cast<double>(xr[r]); });
        y[o] = static_cast<float>(s * scale);
      }
      return;
    }
    // Few long rows: fixed chunks summed in parallel, then in order.
    const int64_t chunks = (R + kReduceChunk - 1) / kReduceChunk;
    std::vector<double> part(static_cast<size_t>(outer * chunks));
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
    for (int64_t t = 0; t < outer * chunks; ++t) {
      const int64_t o = t / chunks, c = t % chunks;
      const float* xr = x + o * R;
      const int64_t r0 = c * kReduceChunk, r1 = (c + 1) * kReduceChunk < R ? (c + 1) * kReduceChunk : R;
      part[t] = ordered_sum(r1 - r0, [xr, r0](int64_t r) { return static_cast<double>(xr[r0 + r]); });
    }
    for (int64_t o = 0; o < outer; ++o) {
      double s = 0;
      for (int64_t c = 0; c < chunks; ++c) s += part[o * chunks + c];
      y[o] = static_cast<float>(s * scale);
    }
    return;
  }
  // Columns: each task sums a block of up to kColumnBlock inner positions over all r, in order.
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t t = 0; t < outer * blocks; ++t) {
    const int64_t o = t / blocks, i0 = (t % blocks) * kColumnBlock;
    const int64_t len = inner - i0 < kColumnBlock ? inner - i0 : kColumnBlock;
    double acc[kColumnBlock];
    for (int64_t i = 0; i < len; ++i) acc[i] = 0;
    for (int64_t r = 0; r < R; ++r) {
      const float* xr = x + (o * R + r) * inner + i0;
#pragma omp simd
      for (int64_t i = 0; i < len; ++i) acc[i] += xr[i];
    }
    for (int64_t i = 0; i < len; ++i) y[o * inner + i0 + i] = static_cast<float>(acc[i] * scale);
  }
}

void reduce_sum_backward_cpu(float* dx, const float* dy, int64_t outer, int64_t R, int64_t inner, float scale) {
  const int64_t rows = outer * R;
#pragma omp parallel for schedule(static) if (rows * inner > kParallelGrain)
  for (int64_t row = 0; row < rows; ++row) {
    const float* g = dy + (row / R) * inner;
    float* d = dx + row * inner;
#pragma omp simd
    for (int64_t i = 0; i < inner; ++i) d[i] += scale * g[i];
  }
}

}  // namespace im
