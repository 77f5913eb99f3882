// CPU twins of kernels/where.cu. masked_select: per-chunk counts, their prefix sum, then each
// chunk writes its selected elements from its own offset.
#include "kernels/where.h"

#include <cstddef>
#include <vector>

#include "kernels/parallel.h"

namespace im {

void where_forward_cpu(float* y, const float* mask, const float* a, const float* b, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) y[i] = mask[i] != 0.f ? a[i] : b[i];
}

void where_backward_cpu(float* da, float* db, const float* dy, const float* mask, int64_t n) {
  if (da) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) da[i] += mask[i] != 0.f ? dy[i] : 0.f;
  }
  if (db) {
#pragma omp parallel for simd schedule(static) if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) db[i] += mask[i] != 0.f ? 0.f : dy[i];
  }
}

namespace {

// Calls f(i, k) for every selected index i, k its rank among the selected.
template <typename F>
void for_selected(const float* mask, int64_t n, F f) {
  const int64_t chunks = (n + kReduceChunk - 1) / kReduceChunk;
  std::vector<int64_t> offset(static_cast<size_t>(chunks) + 1, 0);
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i1 = (c + 1) * kReduceChunk < n ? (c + 1) * kReduceChunk : n;
    int64_t k = 0;
    for (int64_t i = c * kReduceChunk; i < i1; ++i) k += mask[i] != 0.f;
    offset[c + 1] = k;
  }
  for (int64_t c = 0; c < chunks; ++c) offset[c + 1] += offset[c];
#pragma omp parallel for schedule(static) if (n > kParallelGrain)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t i1 = (c + 1) * kReduceChunk < n ? (c + 1) * kReduceChunk : n;
    int64_t k = offset[c];
    for (int64_t i = c * kReduceChunk; i < i1; ++i)
      if (mask[i] != 0.f) f(i, k++);
  }
}

}  // namespace

void mask_count_cpu(const float* mask, int64_t n, int64_t* count) {
  int64_t k = 0;  // an integer sum: exact in any order
#pragma omp parallel for simd schedule(static) reduction(+ : k) if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) k += mask[i] != 0.f;
  *count = k;
}

void masked_select_forward_cpu(float* y, const float* x, const float* mask, int64_t n) {
  for_selected(mask, n, [&](int64_t i, int64_t k) { y[k] = x[i]; });
}

void masked_select_backward_cpu(float* dx, const float* dy, const float* mask, int64_t n) {
  for_selected(mask, n, [&](int64_t i, int64_t k) { dx[i] += dy[k]; });
}

}  // namespace im
